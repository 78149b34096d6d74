//! End to end, feature `otel`: the pool's metrics through the OpenTelemetry SDK's in-memory
//! exporter: names and units of the official Node driver, attributes, and no secret.
#![cfg(feature = "otel")]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use support::lab;

/// Every exported metric: name -> (unit, attribute sets as `key=value` lists).
fn exported(exporter: &InMemoryMetricExporter) -> BTreeMap<String, (String, Vec<Vec<String>>)> {
    fn attributes<'a>(points: impl Iterator<Item = Vec<String>> + 'a) -> Vec<Vec<String>> {
        points.collect()
    }
    let mut out = BTreeMap::new();
    for resource in exporter.get_finished_metrics().unwrap() {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                let kv = |a: &opentelemetry::KeyValue| format!("{}={}", a.key, a.value);
                let sets = match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        attributes(s.data_points().map(|p| p.attributes().map(kv).collect()))
                    }
                    AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                        attributes(g.data_points().map(|p| p.attributes().map(kv).collect()))
                    }
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        attributes(h.data_points().map(|p| p.attributes().map(kv).collect()))
                    }
                    _ => Vec::new(),
                };
                let entry = out
                    .entry(metric.name().to_owned())
                    .or_insert_with(|| (metric.unit().to_owned(), Vec::new()));
                entry.1.extend(sets);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_metrics_have_the_node_drivers_names_units_and_attributes_and_no_secret() {
    let Some(lab) = lab(|b| b).await else { return };
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let pool = lab
        .pool()
        .application_name("otel-pool")
        .meter(provider.meter("test"))
        .build()
        .await
        .unwrap();
    let conn = pool.get().await.unwrap();
    conn.query_one("select 1", &[]).await.unwrap();
    drop(conn);

    // Kill the idle session: an error, then a check and an eviction on the next get().
    let admin = lab.pool().application_name("admin").build().await.unwrap();
    admin
        .get()
        .await
        .unwrap()
        .execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'otel-pool'",
            &[],
        )
        .await
        .unwrap();
    while pool.health().connection_failures == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pool.get().await.unwrap().query_one("select 1", &[]).await.unwrap();

    provider.force_flush().unwrap();
    let metrics = exported(&exporter);
    let endpoint = format!("lakebase.endpoint={}", lab.endpoint);
    for (name, unit) in [
        ("lakebase.token.refresh.duration", "ms"),
        ("lakebase.pool.connect.duration", "ms"),
        ("lakebase.pool.connections.total", "1"),
        ("lakebase.pool.connections.idle", "1"),
        ("lakebase.pool.connections.waiting", "1"),
        ("lakebase.pool.errors", "1"),
        ("lakebase.pool.evictions", "1"),
    ] {
        let (got_unit, sets) = metrics
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {metrics:#?}"));
        assert_eq!(got_unit, unit, "{name}");
        assert!(sets.iter().all(|set| set.contains(&endpoint)), "{name}: {sets:?}");
    }
    let (_, refresh) = &metrics["lakebase.token.refresh.duration"];
    assert!(
        refresh.iter().any(|set| set.contains(&"outcome=ok".to_owned())),
        "{refresh:?}"
    );
    let (_, errors) = &metrics["lakebase.pool.errors"];
    assert!(
        errors.iter().any(|set| set.iter().any(|kv| kv == "error.code=57P01")),
        "pg_terminate_backend is admin_shutdown: {errors:?}"
    );
    let (_, evictions) = &metrics["lakebase.pool.evictions"];
    assert!(
        evictions
            .iter()
            .any(|set| set.iter().any(|kv| kv.starts_with("reason="))),
        "{evictions:?}"
    );

    let token = pool.credentials().current().unwrap().token().expose().to_owned();
    let everything = format!("{metrics:?}");
    assert!(!everything.contains(&token), "a token in the metrics");
    provider.shutdown().unwrap();
}
