//! `GET /metrics`: the Prometheus text format.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use unisession_http::{CallEvent, CallObserver};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CallerLabel {
    pub caller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct JobLabels {
    pub state: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CallLabels {
    pub provider: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProviderLabel {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PairLabels {
    pub provider: String,
    pub outcome: String,
}

/// Every metric the server exposes.
pub(crate) struct Metrics {
    registry: Registry,
    pub received: Counter,
    pub accepted: Family<CallerLabel, Counter>,
    pub rejected: Family<ReasonLabel, Counter>,
    pub jobs: Family<JobLabels, Gauge>,
    pub calls: Family<CallLabels, Counter>,
    pub rate_limited: Family<ProviderLabel, Counter>,
    pub call_seconds: Family<ProviderLabel, Histogram>,
    pub pairs: Family<PairLabels, Counter>,
    pub start_seconds: Histogram,
    pub job_seconds: Histogram,
}

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 18))
}

impl Metrics {
    pub(crate) fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("unisession");
        let received = Counter::default();
        let accepted = Family::<CallerLabel, Counter>::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let jobs = Family::<JobLabels, Gauge>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let rate_limited = Family::<ProviderLabel, Counter>::default();
        let call_seconds =
            Family::<ProviderLabel, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        let pairs = Family::<PairLabels, Counter>::default();
        let start_seconds = latency();
        let job_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 20));
        registry.register(
            "triggers_received",
            "Revocation requests received",
            received.clone(),
        );
        registry.register(
            "triggers_accepted",
            "Revocation requests accepted (a job was stored), by caller",
            accepted.clone(),
        );
        registry.register(
            "triggers_rejected",
            "Revocation requests refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "jobs",
            "Jobs in the queue, by state and outcome",
            jobs.clone(),
        );
        registry.register(
            "provider_calls",
            "Provider call attempts by this process, by status (or error)",
            calls.clone(),
        );
        registry.register(
            "provider_rate_limited",
            "Provider answers that were rate limits (429 or the provider's own signal)",
            rate_limited.clone(),
        );
        registry.register(
            "provider_call_seconds",
            "Provider call attempt latency",
            call_seconds.clone(),
        );
        registry.register(
            "pairs",
            "Finished (person, provider) attempts, by outcome",
            pairs.clone(),
        );
        registry.register(
            "trigger_to_start_seconds",
            "From receipt of a trigger to its job's first provider call",
            start_seconds.clone(),
        );
        registry.register(
            "job_seconds",
            "From receipt of a trigger to its job's end",
            job_seconds.clone(),
        );
        Arc::new(Self {
            registry,
            received,
            accepted,
            rejected,
            jobs,
            calls,
            rate_limited,
            call_seconds,
            pairs,
            start_seconds,
            job_seconds,
        })
    }

    pub(crate) fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The process's calls, as the transports report them.
pub(crate) struct Observer(pub Arc<Metrics>);

impl CallObserver for Observer {
    fn on_call(&self, event: &CallEvent<'_>) {
        let status = match event.status {
            Some(429) => "429".to_owned(),
            Some(s) => format!("{}xx", s / 100),
            None => "error".to_owned(),
        };
        if event.status == Some(429) {
            self.0
                .rate_limited
                .get_or_create(&ProviderLabel {
                    provider: event.provider.to_owned(),
                })
                .inc();
        }
        self.0
            .calls
            .get_or_create(&CallLabels {
                provider: event.provider.to_owned(),
                status,
            })
            .inc();
        self.0
            .call_seconds
            .get_or_create(&ProviderLabel {
                provider: event.provider.to_owned(),
            })
            .observe(event.elapsed.as_secs_f64());
    }
}
