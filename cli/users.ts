// Console users: list, add, reset a password, change a role, remove. Each
// change is audited as cli:<os user>, in the same transaction.

import { ROLES } from "@/server/auth/roles";
import {
  addUser as add,
  listUsers,
  removeUser as remove,
  resetPassword as reset,
  setRole as set,
} from "@/server/auth/users";
import { type Command, oneOf, req, str, UsageError } from "./args";
import type { Ctx } from "./context";
import { confirm, line, printJson, table, when } from "./output";
import { newPassword, PASSWORD_DETAILS, PASSWORD_OPTIONS } from "./password-input";

const db = (ctx: Ctx) => ctx.pipeline().deps.store.db;

function role(args: Parameters<Command["run"]>[1], command: string) {
  const r = oneOf(str(args, "role"), "--role", ROLES);
  if (!r) throw new UsageError(`${command}: missing --role ${ROLES.join("|")}`);
  return r;
}

const users: Command = {
  name: "users",
  summary: "List console users and their roles",
  usage: "[--json]",
  async run(ctx, args) {
    const rows = await listUsers(db(ctx));
    if (args.json) return printJson(rows);
    line(
      table(
        ["USER", "ROLE", "CREATED"],
        rows.map((u) => [u.username, u.role, when(u.createdAt)]),
      ),
    );
  },
};

const addUser: Command = {
  name: "add-user",
  summary: "Add a console user (viewer: reads; operator: reads and acts)",
  usage: "<username> --role viewer|operator [--password-stdin | --generate]",
  details: PASSWORD_DETAILS,
  required: ["username"],
  options: { role: { type: "string" }, ...PASSWORD_OPTIONS },
  async run(ctx, args) {
    const username = req(args, "username");
    const r = role(args, "add-user");
    const { password, generated } = await newPassword(args.values, "add-user");
    await add(db(ctx), ctx.auditActor, { username, password, role: r });
    if (args.json) return printJson({ username, role: r, ...(generated ? { password } : {}) });
    line(`Added ${r} ${username}.`);
    if (generated) line(`Password (shown once): ${password}`);
  },
};

const resetPassword: Command = {
  name: "reset-password",
  summary: "Set a user's password; their sessions end",
  usage: "<username> [--password-stdin | --generate]",
  details: PASSWORD_DETAILS,
  required: ["username"],
  options: { ...PASSWORD_OPTIONS },
  async run(ctx, args) {
    const username = req(args, "username");
    const { password, generated } = await newPassword(args.values, "reset-password");
    await reset(db(ctx), ctx.auditActor, { username, password });
    if (args.json) return printJson({ username, ...(generated ? { password } : {}) });
    line(`New password set for ${username}; their sessions ended.`);
    if (generated) line(`Password (shown once): ${password}`);
  },
};

const setRole: Command = {
  name: "set-role",
  summary: "Change a user's role",
  usage: "<username> --role viewer|operator",
  required: ["username"],
  options: { role: { type: "string" } },
  async run(ctx, args) {
    const username = req(args, "username");
    const r = role(args, "set-role");
    await set(db(ctx), ctx.auditActor, { username, role: r });
    if (args.json) return printJson({ username, role: r });
    line(`${username} is now a${r === "operator" ? "n" : ""} ${r}.`);
  },
};

const removeUser: Command = {
  name: "remove-user",
  summary: "Remove a console user and end their sessions",
  usage: "<username> [--yes]",
  required: ["username"],
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const username = req(args, "username");
    await confirm(`Remove user ${username}?`, args.yes, "remove-user");
    await remove(db(ctx), ctx.auditActor, { username });
    if (args.json) return printJson({ username, removed: true });
    line(`Removed ${username}.`);
  },
};

export const userCommands = [users, addUser, resetPassword, setRole, removeUser];
