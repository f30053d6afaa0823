//! [`LogPolicy`]: what happens to every log record between its parser and the store, the same
//! for syslog, GELF and NDJSON. Two things:
//!
//! - **Component rules.** Some sources cannot name their component (a router's syslog, a
//!   vendor daemon whose tag is `php-fpm-7.4`, a GELF sender with no `_component`). An ordered
//!   list of rules, first match wins, tests a regex against one attribute of the record (the
//!   component the parser derived, the host, the message or a field) and sets the component
//!   from a template that may use the regex's groups (`webapp.$1`, `${app}`).
//! - **Timestamp bounds.** A sender with a broken clock (a device that boots in 1970, a host a
//!   year ahead) would file its lines where no query looks, or under blocks that retention
//!   drops at once. A record more than `max_future` ahead of the receive time, or older than
//!   `max_past`, keeps its line but takes the receive time; the sender's timestamp is kept in
//!   the `original_ts` field and the replacement is counted. Nothing is lost.
//!
//! Parsing is `lookout-proto`'s and storing the store's; this module only rewrites records in
//! place, so it costs nothing but the tests when no rule is configured.

use std::sync::Arc;

use lookout_core::selfmon::{Counter, Registry};
use lookout_core::LogRecord;
use regex::Regex;
use tracing::warn;

use crate::warn_limiter::WarnLimiter;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The field that keeps a replaced timestamp, as unix seconds with nine decimals.
pub const ORIGINAL_TS_FIELD: &str = "original_ts";
/// How far ahead of the receive time a record may be dated by default. An hour covers clocks
/// a little off and time zones misread by RFC 3164 senders east of UTC by less than an hour;
/// anything further is a broken clock, and filing it in the future would hide it from every
/// "last 15 minutes" view until that time comes.
pub const DEFAULT_MAX_FUTURE_SECS: i64 = 3600;

/// Records whose timestamp was replaced by the receive time, per reason.
const TIMESTAMPS_REPLACED: &str = "lookout_ingest_log_timestamps_replaced_total";
const TIMESTAMPS_REPLACED_HELP: &str =
    "Log records dated too far ahead or too far back, stored at their receive time instead.";
/// Records a component rule matched, per rule.
const RULE_MATCHES: &str = "lookout_ingest_log_component_rule_matches_total";
const RULE_MATCHES_HELP: &str = "Log records whose component a component rule set.";
/// Rule results that were not a valid component, per rule.
const RULE_INVALID: &str = "lookout_ingest_log_component_rule_invalid_total";
const RULE_INVALID_HELP: &str =
    "Log records a component rule matched but whose result was not a valid component; they kept the parser's component.";

/// Which input a record came in through; a rule may apply to one input only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogInput {
    /// Syslog over UDP or TCP.
    Syslog,
    /// GELF over UDP, TCP or HTTP.
    Gelf,
    /// NDJSON over HTTP.
    Ndjson,
}

impl LogInput {
    /// Parses the config name of an input (`syslog`, `gelf`, `ndjson`).
    pub fn parse(text: &str) -> Option<LogInput> {
        match text {
            "syslog" => Some(LogInput::Syslog),
            "gelf" => Some(LogInput::Gelf),
            "ndjson" => Some(LogInput::Ndjson),
            _ => None,
        }
    }
}

/// The record attribute a rule's regex is tested against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// The component the parser derived (syslog APP-NAME or TAG, GELF `_component` or
    /// `facility`, NDJSON `component`; `unknown` when the sender named none).
    Component,
    /// The host.
    Host,
    /// The message text (invalid UTF-8 shown lossily).
    Message,
    /// The value of a field; a record without it does not match.
    Field(String),
}

impl RuleSource {
    /// Parses `component`, `host`, `message` or `field.<key>`.
    pub fn parse(text: &str) -> Option<RuleSource> {
        match text {
            "component" => Some(RuleSource::Component),
            "host" => Some(RuleSource::Host),
            "message" => Some(RuleSource::Message),
            _ => text
                .strip_prefix("field.")
                .filter(|k| !k.is_empty())
                .map(|k| RuleSource::Field(k.to_string())),
        }
    }
}

/// One component rule, validated.
#[derive(Debug, Clone)]
pub struct ComponentRule {
    /// The rule's name, for counters and messages.
    pub name: String,
    /// Only records of this input; all inputs when `None`.
    pub input: Option<LogInput>,
    /// What the regex is tested against.
    pub source: RuleSource,
    /// Unanchored, like Graylog's and Loki's; anchor it with `^…$` to match whole values.
    pub regex: Regex,
    /// The new component; `$1`, `${name}` expand to the regex's groups.
    pub component: String,
}

struct CompiledRule {
    rule: ComponentRule,
    matches: Counter,
    invalid: Counter,
}

/// The rules and bounds every log input applies. Share one behind an `Arc`.
pub struct LogPolicy {
    rules: Vec<CompiledRule>,
    max_future_ns: i64,
    /// `None`: no lower bound.
    max_past_ns: Option<i64>,
    future: Counter,
    past: Counter,
    warnings: WarnLimiter,
}

impl LogPolicy {
    /// A policy with `rules` (first match wins), replacing timestamps more than
    /// `max_future_secs` ahead of the receive time or more than `max_past_secs` behind it
    /// (`None`: any age is kept), counting on `registry`.
    pub fn new(
        rules: Vec<ComponentRule>,
        max_future_secs: i64,
        max_past_secs: Option<i64>,
        registry: &Registry,
    ) -> LogPolicy {
        let rules = rules
            .into_iter()
            .map(|rule| CompiledRule {
                matches: registry.counter(RULE_MATCHES, RULE_MATCHES_HELP, &[("rule", &rule.name)]),
                invalid: registry.counter(RULE_INVALID, RULE_INVALID_HELP, &[("rule", &rule.name)]),
                rule,
            })
            .collect();
        LogPolicy {
            rules,
            max_future_ns: max_future_secs.saturating_mul(NANOS_PER_SEC),
            max_past_ns: max_past_secs.map(|s| s.saturating_mul(NANOS_PER_SEC)),
            future: registry.counter(
                TIMESTAMPS_REPLACED,
                TIMESTAMPS_REPLACED_HELP,
                &[("reason", "future")],
            ),
            past: registry.counter(
                TIMESTAMPS_REPLACED,
                TIMESTAMPS_REPLACED_HELP,
                &[("reason", "past")],
            ),
            warnings: WarnLimiter::new(),
        }
    }

    /// No rules, the default future bound, no past bound: what a listener uses when the
    /// binary hands it no policy.
    pub fn defaults(registry: &Registry) -> LogPolicy {
        LogPolicy::new(Vec::new(), DEFAULT_MAX_FUTURE_SECS, None, registry)
    }

    /// Applies the timestamp bounds and the first matching component rule to each record of
    /// `input`, received at `now_ns`.
    pub fn apply(&self, input: LogInput, records: &mut [LogRecord], now_ns: i64) {
        for r in records.iter_mut() {
            self.bound_time(r, now_ns);
            self.route(input, r);
        }
    }

    fn bound_time(&self, r: &mut LogRecord, now_ns: i64) {
        let counter = if r.ts_ns > now_ns.saturating_add(self.max_future_ns) {
            &self.future
        } else if self
            .max_past_ns
            .is_some_and(|p| r.ts_ns < now_ns.saturating_sub(p))
        {
            &self.past
        } else {
            return;
        };
        counter.inc();
        let original = format!(
            "{}.{:09}",
            r.ts_ns.div_euclid(NANOS_PER_SEC),
            r.ts_ns.rem_euclid(NANOS_PER_SEC)
        );
        r.fields.push((ORIGINAL_TS_FIELD.to_string(), original));
        r.ts_ns = now_ns;
    }

    fn route(&self, input: LogInput, r: &mut LogRecord) {
        for c in &self.rules {
            let rule = &c.rule;
            if rule.input.is_some_and(|i| i != input) {
                continue;
            }
            let lossy;
            let subject: &str = match &rule.source {
                RuleSource::Component => &r.component,
                RuleSource::Host => &r.host,
                RuleSource::Message => {
                    lossy = String::from_utf8_lossy(&r.message);
                    &lossy
                }
                RuleSource::Field(key) => match r.fields.iter().find(|(k, _)| k == key) {
                    Some((_, v)) => v,
                    None => continue,
                },
            };
            let Some(caps) = rule.regex.captures(subject) else {
                continue;
            };
            let mut expanded = String::new();
            caps.expand(&rule.component, &mut expanded);
            match lookout_proto::syslog::component_from_name(expanded.as_bytes()) {
                Some(component) if !expanded.trim().is_empty() => {
                    c.matches.inc();
                    r.component = component;
                }
                _ => {
                    c.invalid.inc();
                    if let Some(suppressed) = self.warnings.allow(1) {
                        warn!(
                            rule = rule.name.as_str(),
                            "component rule gave {:.120?}, not a valid component; the record keeps {:?} ({suppressed} more since the last warning)",
                            expanded,
                            r.component
                        );
                    }
                }
            }
            return;
        }
    }
}

/// What a listener without a configured policy applies.
pub(crate) fn default_policy(registry: &Registry) -> Arc<LogPolicy> {
    Arc::new(LogPolicy::defaults(registry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::Severity;

    const NOW: i64 = 1_800_000_000 * NANOS_PER_SEC;

    fn rec(component: &str, host: &str, message: &str, ts_ns: i64) -> LogRecord {
        LogRecord {
            ts_ns,
            component: component.into(),
            host: host.into(),
            severity: Severity::Info,
            facility: None,
            message: message.as_bytes().to_vec(),
            fields: vec![("app".into(), "billing".into())],
        }
    }

    fn rule(input: Option<LogInput>, source: &str, regex: &str, component: &str) -> ComponentRule {
        ComponentRule {
            name: format!("{source}~{regex}"),
            input,
            source: RuleSource::parse(source).unwrap(),
            regex: Regex::new(regex).unwrap(),
            component: component.into(),
        }
    }

    #[track_caller]
    fn check(rules: Vec<ComponentRule>, input: LogInput, r: LogRecord, want: &str) {
        let registry = Registry::new();
        let policy = LogPolicy::new(rules, DEFAULT_MAX_FUTURE_SECS, None, &registry);
        let mut records = [r];
        policy.apply(input, &mut records, NOW);
        assert_eq!(records[0].component, want);
    }

    #[test]
    fn the_first_matching_rule_sets_the_component() {
        let r = || rec("php-fpm-7_4", "web3", "GET /git/tree 200", NOW);
        let rules = || {
            vec![
                rule(None, "component", "^nomatch$", "x"),
                rule(None, "component", r"^php-fpm", "webapp.php"),
                rule(None, "component", ".*", "never"),
            ]
        };
        check(rules(), LogInput::Syslog, r(), "webapp.php");
        // Groups, named groups and other attributes.
        let groups = vec![rule(
            None,
            "host",
            r"^(?P<role>[a-z]+)\d+$",
            "hosts.${role}.$0",
        )];
        check(groups, LogInput::Syslog, r(), "hosts.web.web3");
        let by_field = vec![rule(None, "field.app", "^(.+)$", "webapp.backend.$1")];
        check(by_field, LogInput::Gelf, r(), "webapp.backend.billing");
        let by_message = vec![rule(None, "message", r"GET /(\w+)/", "webapp.backend.$1")];
        check(by_message, LogInput::Ndjson, r(), "webapp.backend.git");
        // A field the record does not have: no match, the next rule is tried.
        let missing = vec![
            rule(None, "field.nope", ".*", "x"),
            rule(None, "host", "web", "web"),
        ];
        check(missing, LogInput::Syslog, r(), "web");
    }

    #[test]
    fn a_rule_for_one_input_leaves_the_others_alone() {
        let r = || rec("unknown", "router1", "link down", NOW);
        let rules = || {
            vec![rule(
                Some(LogInput::Syslog),
                "component",
                "^unknown$",
                "net.router",
            )]
        };
        check(rules(), LogInput::Syslog, r(), "net.router");
        check(rules(), LogInput::Gelf, r(), "unknown");
        check(rules(), LogInput::Ndjson, r(), "unknown");
    }

    #[test]
    fn an_invalid_result_keeps_the_parsers_component_and_is_counted() {
        let registry = Registry::new();
        let rules = vec![
            rule(None, "host", "^(.*)$", "a..$1"),
            rule(None, "host", ".*", "fallback"),
        ];
        let policy = LogPolicy::new(rules, DEFAULT_MAX_FUTURE_SECS, None, &registry);
        let mut records = [rec("sshd", "h", "m", NOW)];
        policy.apply(LogInput::Syslog, &mut records, NOW);
        assert_eq!(
            records[0].component, "sshd",
            "first match wins, even when invalid"
        );
        let text = registry.render_prometheus();
        assert!(
            text.contains(
                r#"lookout_ingest_log_component_rule_invalid_total{rule="host~^(.*)$"} 1"#
            ),
            "{text}"
        );
        // Characters a component cannot hold are mapped as the parsers map them.
        let spaces = vec![rule(None, "message", "^(.*)$", "app.$1")];
        check(
            spaces,
            LogInput::Syslog,
            rec("c", "h", "a b/c", NOW),
            "app.a_b_c",
        );
    }

    #[test]
    fn timestamps_out_of_bounds_take_the_receive_time_and_keep_the_original() {
        let registry = Registry::new();
        let policy = LogPolicy::new(Vec::new(), 3600, Some(86400), &registry);
        let ahead = NOW + 3601 * NANOS_PER_SEC;
        let mut records = [
            rec("a", "h", "in range", NOW - 3600 * NANOS_PER_SEC),
            rec(
                "a",
                "h",
                "an hour ahead is fine",
                NOW + 3600 * NANOS_PER_SEC,
            ),
            rec("a", "h", "too far ahead", ahead),
            rec("a", "h", "1970", 0),
            rec("a", "h", "before 1970", -1_500_000_000),
        ];
        policy.apply(LogInput::Syslog, &mut records, NOW);
        let ts: Vec<i64> = records.iter().map(|r| r.ts_ns).collect();
        assert_eq!(
            ts,
            [
                NOW - 3600 * NANOS_PER_SEC,
                NOW + 3600 * NANOS_PER_SEC,
                NOW,
                NOW,
                NOW
            ]
        );
        let original = |r: &LogRecord| {
            r.fields
                .iter()
                .find(|(k, _)| k == ORIGINAL_TS_FIELD)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(original(&records[0]), None);
        assert_eq!(original(&records[2]), Some("1800003601.000000000".into()));
        assert_eq!(original(&records[3]), Some("0.000000000".into()));
        assert_eq!(original(&records[4]), Some("-2.500000000".into()));
        let text = registry.render_prometheus();
        assert!(
            text.contains(r#"lookout_ingest_log_timestamps_replaced_total{reason="future"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"lookout_ingest_log_timestamps_replaced_total{reason="past"} 2"#),
            "{text}"
        );
        // Without a past bound, old records keep their time.
        let keep_old = LogPolicy::defaults(&Registry::new());
        let mut old = [rec("a", "h", "1970", 0)];
        keep_old.apply(LogInput::Gelf, &mut old, NOW);
        assert_eq!(old[0].ts_ns, 0);
    }
}
