// Which addresses the per-address sign-in limit counts as one sender.
import { describe, expect, it } from "vitest";
import { addressLimitKey } from "@/server/auth/address";

describe("addressLimitKey", () => {
  it("keeps an IPv4 address, also written IPv4-mapped", () => {
    expect(addressLimitKey("192.0.2.7")).toBe("192.0.2.7");
    expect(addressLimitKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressLimitKey("::ffff:c000:0207")).toBe("192.0.2.7");
  });

  it("groups IPv6 addresses by /64, however they are written", () => {
    expect(addressLimitKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressLimitKey("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(addressLimitKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressLimitKey("::1")).toBe("0:0:0:0::/64");
    expect(addressLimitKey("2001:db8:1:3::1")).not.toBe(addressLimitKey("2001:db8:1:2::1"));
  });

  it("leaves anything else as it is, at most 64 characters", () => {
    expect(addressLimitKey("unknown")).toBe("unknown");
    expect(addressLimitKey("x".repeat(100))).toHaveLength(64);
  });
});
