// Prometheus metrics of one process (prom-client). Counters and histograms
// come from the queue's events and the pipeline's status changes; gauges
// (lag, partitions, DLQ size, builds by status) are read from the database
// when scraped. Labels are topics, groups, runners and statuses only: never a
// partition key or a message id (unbounded cardinality).
import { createServer, type Server } from "node:http";
import client from "prom-client";
import { bearerToken, secretMatches } from "./http/secret";
import type { QueueEvent, QueueEventListener, TopicOverview } from "./queue";

export interface GaugeSource {
  topics(): Promise<TopicOverview[]>;
  buildsByStatus(): Promise<Record<string, number>>;
}

export interface SluiceMetrics {
  registry: client.Registry;
  onQueueEvent: QueueEventListener;
  buildStatus(runner: string, status: string): void;
  /** Where scrape-time gauges are read from (the web server's pipeline, a worker's). */
  setGaugeSource(source: GaugeSource): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(): SluiceMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "sluice_process_" });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new client.Counter({ name, help, labelNames, registers: [registry] });
  const published = counter("sluice_messages_published_total", "Messages published.", ["topic"]);
  const delivered = counter("sluice_messages_delivered_total", "Deliveries handed to consumers.", ["topic", "group"]);
  const acked = counter("sluice_messages_acked_total", "Deliveries acked.", ["topic", "group"]);
  const nacked = counter("sluice_messages_nacked_total", "Deliveries nacked for a retry.", ["topic", "group"]);
  const deadLettered = counter("sluice_messages_dead_lettered_total", "Messages moved to the DLQ.", ["topic", "group"]);
  const polls = counter("sluice_polls_total", "Subscriber polls.", ["topic", "group"]);
  const transitions = counter("sluice_build_status_transitions_total", "Build status changes recorded.", [
    "runner",
    "status",
  ]);
  const latency = new client.Histogram({
    name: "sluice_delivery_latency_seconds",
    help: "From a message becoming visible to its first delivery (database clock).",
    labelNames: ["topic", "group"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const processing = new client.Histogram({
    name: "sluice_processing_seconds",
    help: "From handing a delivery to the consumer to its ack, nack or reject.",
    labelNames: ["topic", "group", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  let source: GaugeSource | undefined;
  // One read of the database per scrape fills every gauge: prom-client asks
  // all metrics at once, so each gauge's collect awaits the same read.
  let filling: Promise<void> | undefined;
  const fillGauges = () => {
    filling ??= readGauges().finally(() => {
      filling = undefined;
    });
    return filling;
  };
  const readGauges = async () => {
    if (!source) return;
    const [topics, byStatus] = await Promise.all([source.topics(), source.buildsByStatus()]);
    lag.reset();
    partitions.reset();
    dlq.reset();
    builds.reset();
    for (const t of topics) {
      partitions.set({ topic: t.topic }, t.partitions);
      if (t.dlq) dlq.set({ topic: t.topic }, t.dlq.value);
      for (const g of t.groups) lag.set({ topic: t.topic, group: g.group }, g.lag);
    }
    for (const [status, n] of Object.entries(byStatus)) builds.set({ status }, n);
  };
  const lag: client.Gauge = new client.Gauge({
    name: "sluice_group_lag_messages",
    help: "Messages published but not yet finished by a consumer group (upper bound).",
    labelNames: ["topic", "group"],
    registers: [registry],
    collect: fillGauges,
  });
  const partitions = new client.Gauge({
    name: "sluice_topic_partitions",
    help: "Partitions a topic has had.",
    labelNames: ["topic"],
    registers: [registry],
    collect: fillGauges,
  });
  const dlq = new client.Gauge({
    name: "sluice_dlq_messages",
    help: "Messages in a topic's DLQ (capped at 10,000).",
    labelNames: ["topic"],
    registers: [registry],
    collect: fillGauges,
  });
  const builds = new client.Gauge({
    name: "sluice_builds",
    help: "Builds by status.",
    labelNames: ["status"],
    registers: [registry],
    collect: fillGauges,
  });

  const onQueueEvent = (e: QueueEvent) => {
    switch (e.type) {
      case "published":
        published.inc({ topic: e.topic }, e.count);
        break;
      case "delivered":
        delivered.inc({ topic: e.topic, group: e.group });
        if (e.attempt === 1) latency.observe({ topic: e.topic, group: e.group }, e.latencyMs / 1000);
        break;
      case "settled": {
        const labels = { topic: e.topic, group: e.group };
        if (e.outcome === "acked") acked.inc(labels);
        else if (e.outcome === "nacked") nacked.inc(labels);
        else deadLettered.inc(labels);
        processing.observe({ ...labels, outcome: e.outcome }, e.processingMs / 1000);
        break;
      }
      case "poll":
        polls.inc({ topic: e.topic, group: e.group });
        break;
    }
  };

  return {
    registry,
    onQueueEvent,
    buildStatus: (runner, status) => transitions.inc({ runner, status }),
    setGaugeSource(s) {
      source = s;
    },
  };
}

const store = globalThis as typeof globalThis & { __sluiceMetrics?: SluiceMetrics };

/** This process's metrics (one registry per process, kept across next dev reloads). */
export function getMetrics(): SluiceMetrics {
  store.__sluiceMetrics ??= createMetrics();
  return store.__sluiceMetrics;
}

/** A bare /metrics listener for processes without a web server (the worker); with `token`, a bearer token is required. */
export function serveMetrics(
  metrics: SluiceMetrics,
  host: string,
  port: number,
  log: (line: string) => void,
  token?: string,
): Server {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    if (token && !secretMatches(bearerToken(headersOf(req.headers)), token)) {
      res.writeHead(401, { "www-authenticate": 'Bearer realm="sluice-metrics"' }).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  server.listen(port, host, () => log(`metrics at http://${host}:${port}/metrics`));
  return server;
}

function headersOf(raw: Record<string, string | string[] | undefined>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") h.set(k, v);
  return h;
}
