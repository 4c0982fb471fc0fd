//! Audience segments: rules from configuration, assignment of visitors, and exports.
//!
//! A segment is a named rule over a visitor's recent behaviour: how much they click, how
//! often they return, how recently they were seen, how long they look, and which topics
//! (keywords) they click. Rules are tried in order and the first match wins; visitors who
//! match none fall into [`OTHER_SEGMENT`]. Only visitors with a consented, pseudonymous id
//! are segmented; events without one count under [`ANONYMOUS_SEGMENT`].

use std::collections::{BTreeMap, HashMap};

use loci_shared::api::validate_token;
use loci_shared::time::{Millis, MS_PER_DAY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::ConfigError;
use crate::db::{query_as, Database, DbError, Statement};
use crate::events::counted;

/// The segment of visitors that no rule matched.
pub const OTHER_SEGMENT: &str = "other";
/// The segment events without a visitor id are counted under.
pub const ANONYMOUS_SEGMENT: &str = "anonymous";
/// How many days of events describe a visitor.
pub const LOOKBACK_DAYS: i64 = 90;
/// Keywords kept per visitor.
const VISITOR_KEYWORDS: usize = 5;
/// Keywords kept per segment in its summary.
const SEGMENT_KEYWORDS: usize = 8;
/// Rows written per statement.
const WRITE_CHUNK: usize = 500;

/// One segment's rule. Every condition that is set must hold; an empty rule matches everyone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// The segment id used in the API and exports.
    pub id: String,
    /// A sentence for the insights page and exports.
    #[serde(default)]
    pub description: String,
    /// At least this many clicks in the lookback window.
    pub min_clicks: Option<u32>,
    /// At most this many clicks.
    pub max_clicks: Option<u32>,
    /// Seen on at least this many distinct days.
    pub min_active_days: Option<u32>,
    /// Seen on at most this many distinct days.
    pub max_active_days: Option<u32>,
    /// Last seen at least this many days ago.
    pub min_days_since_last_seen: Option<u32>,
    /// Last seen at most this many days ago.
    pub max_days_since_last_seen: Option<u32>,
    /// Average dwell on clicked assets of at least this many milliseconds.
    pub min_avg_dwell_ms: Option<u32>,
    /// Clicked at least one asset with one of these keywords (lower case).
    #[serde(default)]
    pub keywords_any: Vec<String>,
}

/// A visitor's behaviour in the lookback window.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VisitorBehaviour {
    /// The pseudonymous visitor id.
    pub visitor_id: String,
    /// Clicks.
    pub clicks: i64,
    /// Viewable impressions.
    pub impressions: i64,
    /// Total dwell time on clicked assets.
    pub dwell_ms: i64,
    /// Dwell events.
    pub dwell_events: i64,
    /// Distinct UTC days with events.
    pub active_days: i64,
    /// First event in the window.
    pub first_seen_at: Millis,
    /// Last event.
    pub last_seen_at: Millis,
    /// Clicks per keyword of the clicked assets.
    #[serde(skip)]
    pub keyword_clicks: BTreeMap<String, i64>,
}

impl SegmentRule {
    /// Returns whether a visitor with this behaviour belongs to the segment at `now`.
    pub fn matches(&self, visitor: &VisitorBehaviour, now: Millis) -> bool {
        let days_since = (now - visitor.last_seen_at).max(0) / MS_PER_DAY;
        let avg_dwell = if visitor.dwell_events > 0 { visitor.dwell_ms / visitor.dwell_events } else { 0 };
        let at_least = |bound: Option<u32>, value: i64| bound.is_none_or(|b| value >= i64::from(b));
        let at_most = |bound: Option<u32>, value: i64| bound.is_none_or(|b| value <= i64::from(b));

        at_least(self.min_clicks, visitor.clicks)
            && at_most(self.max_clicks, visitor.clicks)
            && at_least(self.min_active_days, visitor.active_days)
            && at_most(self.max_active_days, visitor.active_days)
            && at_least(self.min_days_since_last_seen, days_since)
            && at_most(self.max_days_since_last_seen, days_since)
            && at_least(self.min_avg_dwell_ms, avg_dwell)
            && (self.keywords_any.is_empty()
                || self.keywords_any.iter().any(|k| visitor.keyword_clicks.get(k).is_some_and(|&n| n > 0)))
    }
}

/// Returns the segments used when `LOCI_SEGMENTS` is not set: depth, frequency and recency.
pub fn default_segments() -> Vec<SegmentRule> {
    let rule = |id: &str, description: &str| SegmentRule {
        id: id.to_owned(),
        description: description.to_owned(),
        min_clicks: None,
        max_clicks: None,
        min_active_days: None,
        max_active_days: None,
        min_days_since_last_seen: None,
        max_days_since_last_seen: None,
        min_avg_dwell_ms: None,
        keywords_any: Vec::new(),
    };
    vec![
        SegmentRule {
            min_active_days: Some(4),
            min_clicks: Some(6),
            max_days_since_last_seen: Some(20),
            ..rule("loyal", "Returned on 4 or more days and clicked 6 or more recommendations")
        },
        SegmentRule { min_days_since_last_seen: Some(21), ..rule("lapsed", "Not seen for 21 days or more") },
        SegmentRule { min_clicks: Some(3), ..rule("engaged", "Clicked 3 or more recommendations") },
        SegmentRule { max_clicks: Some(0), ..rule("browsing", "Saw recommendations but clicked none") },
        rule("casual", "Clicked once or twice"),
    ]
}

/// Parses `LOCI_SEGMENTS`: a JSON array of rules, tried in order.
pub fn parse_segments(text: &str) -> Result<Vec<SegmentRule>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "LOCI_SEGMENTS", reason };
    let mut rules: Vec<SegmentRule> = serde_json::from_str(text).map_err(|e| {
        invalid(format!("{e}; expected a JSON array such as [{{\"id\": \"loyal\", \"min_active_days\": 4}}]"))
    })?;
    if rules.is_empty() {
        return Err(invalid("the list is empty; define at least one segment or unset the variable".to_owned()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for rule in &mut rules {
        validate_token("id", &rule.id).map_err(|e| invalid(format!("segment id `{}`: {e}", rule.id)))?;
        if rule.id == OTHER_SEGMENT || rule.id == ANONYMOUS_SEGMENT {
            return Err(invalid(format!("`{}` is reserved; choose another segment id", rule.id)));
        }
        if !seen.insert(rule.id.clone()) {
            return Err(invalid(format!("segment id `{}` appears twice", rule.id)));
        }
        for keyword in &mut rule.keywords_any {
            *keyword = keyword.trim().to_lowercase();
        }
    }
    Ok(rules)
}

/// Returns the first segment whose rule matches, or [`OTHER_SEGMENT`].
pub fn assign<'a>(rules: &'a [SegmentRule], visitor: &VisitorBehaviour, now: Millis) -> &'a str {
    rules.iter().find(|rule| rule.matches(visitor, now)).map_or(OTHER_SEGMENT, |rule| rule.id.as_str())
}

/// Returns every segment id a query may name: the configured ones, then the two built-in ones.
pub fn known_ids(rules: &[SegmentRule]) -> Vec<String> {
    rules.iter().map(|r| r.id.clone()).chain([OTHER_SEGMENT.to_owned(), ANONYMOUS_SEGMENT.to_owned()]).collect()
}

/// A segment's size and what its members click, as stored after each aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// The segment id.
    pub id: String,
    /// Visitors in it.
    pub size: i64,
    /// Its members' most clicked keywords: `{keyword, clicks}`.
    pub top_keywords: Vec<Value>,
}

/// Reads every consenting visitor's behaviour in the lookback window, keywords included.
async fn visitor_behaviour(
    db: &impl Database,
    generation: Option<i64>,
    since: Millis,
) -> Result<Vec<VisitorBehaviour>, DbError> {
    let mut visitors: Vec<VisitorBehaviour> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT visitor_id, sum(kind = 'click') AS clicks, sum(kind = 'impression') AS impressions, \
                 sum(CASE WHEN kind = 'dwell' THEN dwell_ms ELSE 0 END) AS dwell_ms, sum(kind = 'dwell') AS dwell_events, \
                 count(DISTINCT occurred_at / 86400000) AS active_days, min(occurred_at) AS first_seen_at, \
                 max(occurred_at) AS last_seen_at \
                 FROM events e WHERE {} GROUP BY visitor_id ORDER BY visitor_id",
                counted("e", "visitor_id IS NOT NULL AND occurred_at >= ?1")
            ),
            vec![since.into()],
        ),
    )
    .await?;
    let Some(generation) = generation else { return Ok(visitors) };

    #[derive(Deserialize)]
    struct KeywordClicks {
        visitor_id: String,
        keyword: String,
        clicks: i64,
    }
    let keyword_rows: Vec<KeywordClicks> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT e.visitor_id, k.value AS keyword, count(*) AS clicks \
                 FROM events e JOIN assets a ON a.generation = ?2 AND a.id = e.asset_id, json_each(a.keywords) k \
                 WHERE {} GROUP BY e.visitor_id, k.value",
                counted("e", "kind = 'click' AND visitor_id IS NOT NULL AND occurred_at >= ?1")
            ),
            vec![since.into(), generation.into()],
        ),
    )
    .await?;
    let index: HashMap<String, usize> = visitors.iter().enumerate().map(|(i, v)| (v.visitor_id.clone(), i)).collect();
    for row in keyword_rows {
        if let Some(&i) = index.get(&row.visitor_id) {
            visitors[i].keyword_clicks.insert(row.keyword, row.clicks);
        }
    }
    Ok(visitors)
}

fn top_keywords(counts: &BTreeMap<String, i64>, keep: usize) -> Vec<(String, i64)> {
    let mut ranked: Vec<(String, i64)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(keep);
    ranked
}

/// Re-assigns every visitor seen in the lookback window, rewrites `visitor_segments` and the
/// per-segment popularity, and returns each segment's summary.
///
/// NOTE: this rewrites the whole table on each run, which suits tens of thousands of visitors.
/// Beyond that, re-assign only visitors with new events and those whose recency rules changed
/// since the last run.
pub async fn refresh(
    db: &impl Database,
    rules: &[SegmentRule],
    generation: Option<i64>,
    now: Millis,
) -> Result<Vec<SegmentSummary>, DbError> {
    let since = now - LOOKBACK_DAYS * MS_PER_DAY;
    let visitors = visitor_behaviour(db, generation, since).await?;

    let mut rows = Vec::with_capacity(visitors.len());
    let mut keywords_by_segment: BTreeMap<&str, BTreeMap<String, i64>> = BTreeMap::new();
    let mut sizes: BTreeMap<&str, i64> = BTreeMap::new();
    for visitor in &visitors {
        let segment = assign(rules, visitor, now);
        *sizes.entry(segment).or_default() += 1;
        let totals = keywords_by_segment.entry(segment).or_default();
        for (keyword, clicks) in &visitor.keyword_clicks {
            *totals.entry(keyword.clone()).or_default() += clicks;
        }
        let keywords: Vec<String> =
            top_keywords(&visitor.keyword_clicks, VISITOR_KEYWORDS).into_iter().map(|(k, _)| k).collect();
        rows.push(json!([
            visitor.visitor_id,
            segment,
            visitor.clicks,
            visitor.impressions,
            visitor.dwell_ms,
            visitor.active_days,
            visitor.first_seen_at,
            visitor.last_seen_at,
            Value::from(keywords).to_string(),
            now
        ]));
    }

    let mut statements = vec![Statement::new("DELETE FROM visitor_segments", vec![])];
    for chunk in rows.chunks(WRITE_CHUNK) {
        statements.push(Statement::new(
            "INSERT INTO visitor_segments (visitor_id, segment, clicks, impressions, dwell_ms, active_days, \
             first_seen_at, last_seen_at, top_keywords, assigned_at) \
             SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]', \
             value ->> '$[5]', value ->> '$[6]', value ->> '$[7]', value ->> '$[8]', value ->> '$[9]' FROM json_each(?1)",
            vec![Value::from(chunk.to_vec()).to_string().into()],
        ));
    }
    statements.push(Statement::new("DELETE FROM segment_popularity", vec![]));
    // Clicks decay hyperbolically with a one-week half-life, so a segment's recent favourites lead.
    statements.push(Statement::new(
        format!(
            "INSERT INTO segment_popularity (segment, asset_id, score) \
         SELECT segment, asset_id, score FROM ( \
           SELECT vs.segment AS segment, e.asset_id AS asset_id, \
                  sum(1.0 / (1.0 + (?1 - e.occurred_at) / 604800000.0)) AS score, \
                  row_number() OVER (PARTITION BY vs.segment \
                      ORDER BY sum(1.0 / (1.0 + (?1 - e.occurred_at) / 604800000.0)) DESC, e.asset_id) AS rank \
           FROM events e JOIN visitor_segments vs ON vs.visitor_id = e.visitor_id \
           WHERE {} \
           GROUP BY vs.segment, e.asset_id) \
         WHERE rank <= 200",
            counted("e", "kind = 'click' AND asset_id IS NOT NULL AND occurred_at >= ?2")
        ),
        vec![now.into(), since.into()],
    ));
    db.batch(statements).await?;

    let summaries = rules
        .iter()
        .map(|r| r.id.as_str())
        .chain([OTHER_SEGMENT])
        .map(|id| SegmentSummary {
            id: id.to_owned(),
            size: sizes.get(id).copied().unwrap_or(0),
            top_keywords: keywords_by_segment
                .get(id)
                .map(|counts| {
                    top_keywords(counts, SEGMENT_KEYWORDS)
                        .into_iter()
                        .map(|(keyword, clicks)| json!({"keyword": keyword, "clicks": clicks}))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(clicks: i64, active_days: i64, last_seen_days_ago: i64, keywords: &[&str]) -> VisitorBehaviour {
        VisitorBehaviour {
            visitor_id: "v".to_owned(),
            clicks,
            impressions: clicks * 4,
            dwell_ms: 0,
            dwell_events: 0,
            active_days,
            first_seen_at: 0,
            last_seen_at: 100 * MS_PER_DAY - last_seen_days_ago * MS_PER_DAY,
            keyword_clicks: keywords.iter().map(|k| ((*k).to_owned(), 1)).collect(),
        }
    }

    #[test]
    fn default_rules_follow_behaviour() {
        let rules = default_segments();
        let now = 100 * MS_PER_DAY;

        assert_eq!(assign(&rules, &visitor(9, 5, 1, &[]), now), "loyal");
        assert_eq!(assign(&rules, &visitor(9, 5, 30, &[]), now), "lapsed");
        assert_eq!(assign(&rules, &visitor(3, 1, 0, &[]), now), "engaged");
        assert_eq!(assign(&rules, &visitor(0, 1, 0, &[]), now), "browsing");
        assert_eq!(assign(&rules, &visitor(1, 1, 0, &[]), now), "casual");
    }

    #[test]
    fn topic_rules_match_clicked_keywords() {
        let rules = parse_segments(r#"[{"id": "sea-lovers", "keywords_any": ["Sea", "boat, sailing"]}]"#).unwrap();

        assert_eq!(assign(&rules, &visitor(1, 1, 0, &["sea"]), 0), "sea-lovers");
        assert_eq!(assign(&rules, &visitor(1, 1, 0, &["tree"]), 0), OTHER_SEGMENT);
    }

    #[test]
    fn invalid_segment_lists_name_the_problem() {
        for (text, expected) in [
            ("{", "expected a JSON array"),
            ("[]", "empty"),
            (r#"[{"id": "other"}]"#, "reserved"),
            (r#"[{"id": "a"}, {"id": "a"}]"#, "twice"),
            (r#"[{"id": "a b"}]"#, "segment id"),
            (r#"[{"id": "a", "min_click": 1}]"#, "unknown field"),
        ] {
            let error = parse_segments(text).unwrap_err().to_string();
            assert!(error.contains("LOCI_SEGMENTS"), "{text}: {error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
