//! The serve-time rights decision.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Channel, Field, Rights, Territory, Visibility};
use crate::time::Millis;

/// One reason an asset is not shown. Each rule has a stable code used in responses and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyRule {
    /// The asset has no channel approval at all, or it could not be read.
    ChannelsUnknown,
    /// The requested channel is not among the approved ones.
    ChannelNotApproved,
    /// The campaign list could not be read.
    CampaignsUnknown,
    /// The asset is approved for named campaigns only, and the request names another one or
    /// none.
    CampaignNotApproved,
    /// A licence date could not be read.
    LicenceDatesUnknown,
    /// The licence has not started yet.
    LicenceNotStarted,
    /// The licence has ended.
    LicenceExpired,
    /// The territory could not be read.
    TerritoryUnknown,
    /// The request's country is outside the approved territory.
    TerritoryNotApproved,
    /// The channel needs a model or property release that is missing or unknown.
    ReleaseMissing,
    /// No public gallery holds the asset.
    NotPublic,
}

impl DenyRule {
    /// Returns the stable code of the rule.
    pub fn code(self) -> &'static str {
        match self {
            DenyRule::ChannelsUnknown => "channels_unknown",
            DenyRule::ChannelNotApproved => "channel_not_approved",
            DenyRule::CampaignsUnknown => "campaigns_unknown",
            DenyRule::CampaignNotApproved => "campaign_not_approved",
            DenyRule::LicenceDatesUnknown => "licence_dates_unknown",
            DenyRule::LicenceNotStarted => "licence_not_started",
            DenyRule::LicenceExpired => "licence_expired",
            DenyRule::TerritoryUnknown => "territory_unknown",
            DenyRule::TerritoryNotApproved => "territory_not_approved",
            DenyRule::ReleaseMissing => "release_missing",
            DenyRule::NotPublic => "not_public",
        }
    }
}

/// The outcome of evaluating rights for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The asset may be shown.
    Allowed,
    /// The asset must not be shown, for this reason (the first rule that failed).
    Denied(DenyRule),
}

impl Decision {
    /// Returns whether the asset may be shown.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// What a request is for, as far as rights are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeContext {
    /// The channel the result will be shown on.
    pub channel: Channel,
    /// The campaign, when the request names one.
    pub campaign: Option<String>,
    /// The visitor's country (ISO 3166-1 alpha-2), when the platform provides it.
    pub country: Option<String>,
    /// The instant of the decision.
    pub now: Millis,
}

/// Site-level rules on top of each asset's own rights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsPolicy {
    /// Channels on which people may be shown only with a model release and places only with a
    /// property release on file (for example advertising channels).
    pub release_required_on: BTreeSet<Channel>,
}

/// One check the policy makes, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The channel is approved.
    Channel,
    /// The request's campaign is approved; an asset approved for named campaigns only needs
    /// the request to name one of them.
    Campaign,
    /// The instant is inside the licence period.
    LicencePeriod,
    /// The country, when required, is inside the territory.
    Territory,
    /// Releases are on file where the channel requires them.
    Release,
    /// A public gallery holds the asset.
    Visibility,
}

impl Check {
    /// Every check, in the order [`RightsPolicy::evaluate`] applies them.
    pub const ALL: [Check; 6] =
        [Check::Channel, Check::Campaign, Check::LicencePeriod, Check::Territory, Check::Release, Check::Visibility];
}

/// The outcome of one check, for explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check.
    pub check: Check,
    /// `None` when it passed, else the rule that failed.
    pub failed: Option<DenyRule>,
}

impl RightsPolicy {
    /// Decides whether an asset with these rights may be shown in this context.
    ///
    /// Checks run in the order of [`Check::ALL`] and the first failure is reported. Missing
    /// channel approval, and any value that could not be parsed, deny.
    pub fn evaluate(&self, rights: &Rights, context: &ServeContext) -> Decision {
        match Check::ALL.iter().find_map(|check| self.check(*check, rights, context).err()) {
            Some(rule) => Decision::Denied(rule),
            None => Decision::Allowed,
        }
    }

    /// Runs every check, not only up to the first failure, to explain a decision.
    pub fn explain(&self, rights: &Rights, context: &ServeContext) -> Vec<CheckOutcome> {
        Check::ALL
            .iter()
            .map(|check| CheckOutcome { check: *check, failed: self.check(*check, rights, context).err() })
            .collect()
    }

    fn check(&self, check: Check, rights: &Rights, context: &ServeContext) -> Result<(), DenyRule> {
        match check {
            Check::Channel => match &rights.channels {
                Field::Known(channels) if channels.contains(&context.channel) => Ok(()),
                Field::Known(_) => Err(DenyRule::ChannelNotApproved),
                Field::Absent | Field::Unknown(_) => Err(DenyRule::ChannelsUnknown),
            },
            Check::Campaign => match (&rights.campaigns, &context.campaign) {
                (Field::Unknown(_), _) => Err(DenyRule::CampaignsUnknown),
                (Field::Known(campaigns), Some(campaign)) if !campaigns.contains(campaign) => {
                    Err(DenyRule::CampaignNotApproved)
                }
                (Field::Known(campaigns), None) if !campaigns.is_empty() => Err(DenyRule::CampaignNotApproved),
                _ => Ok(()),
            },
            Check::LicencePeriod => {
                if matches!(rights.licence_start, Field::Unknown(_)) || matches!(rights.licence_end, Field::Unknown(_))
                {
                    return Err(DenyRule::LicenceDatesUnknown);
                }
                if let Field::Known(start) = rights.licence_start {
                    if context.now < start {
                        return Err(DenyRule::LicenceNotStarted);
                    }
                }
                match rights.licence_end {
                    Field::Known(end) if context.now >= end => Err(DenyRule::LicenceExpired),
                    _ => Ok(()),
                }
            }
            Check::Territory => match (&rights.territory, &context.country) {
                (Field::Unknown(_), _) | (Field::Known(Territory::Countries(_)), None) => {
                    Err(DenyRule::TerritoryUnknown)
                }
                (Field::Known(Territory::Countries(countries)), Some(country)) if !countries.contains(country) => {
                    Err(DenyRule::TerritoryNotApproved)
                }
                _ => Ok(()),
            },
            Check::Release => {
                let released = |field: &Field<bool>| matches!(field, Field::Known(true));
                if self.release_required_on.contains(&context.channel)
                    && (!released(&rights.model_release) || !released(&rights.property_release))
                {
                    Err(DenyRule::ReleaseMissing)
                } else {
                    Ok(())
                }
            }
            Check::Visibility => match rights.visibility {
                Visibility::Public => Ok(()),
                Visibility::PermissionOnly | Visibility::Private | Visibility::Unknown => Err(DenyRule::NotPublic),
            },
        }
    }
}

/// The rights filter of one response: admits or removes candidates, counts removals per rule,
/// and tracks the earliest instant at which an admitted item's decision changes.
#[derive(Debug, Clone)]
pub struct RightsFilter<'a> {
    policy: &'a RightsPolicy,
    context: &'a ServeContext,
    report: FilterReport,
    valid_until: Option<Millis>,
}

impl<'a> RightsFilter<'a> {
    /// A filter for one request.
    pub fn new(policy: &'a RightsPolicy, context: &'a ServeContext) -> Self {
        RightsFilter { policy, context, report: FilterReport::default(), valid_until: None }
    }

    /// Whether an item with these rights may be shown; a removal is counted.
    pub fn admit(&mut self, rights: &Rights) -> bool {
        match self.policy.evaluate(rights, self.context) {
            Decision::Allowed => {
                if let Some(change) = rights.next_change_after(self.context.now) {
                    self.valid_until = Some(self.valid_until.map_or(change, |until| until.min(change)));
                }
                true
            }
            Decision::Denied(rule) => {
                self.report.record(rule);
                false
            }
        }
    }

    /// Keeps the items whose rights admit them, in order.
    pub fn retain<T>(&mut self, items: impl IntoIterator<Item = T>, rights_of: impl Fn(&T) -> &Rights) -> Vec<T> {
        items.into_iter().filter(|item| self.admit(rights_of(item))).collect()
    }

    /// The earliest instant at which a decision about an admitted item changes, if any.
    /// Anything built from the admitted items must not be cached past it.
    pub fn valid_until(&self) -> Option<Millis> {
        self.valid_until
    }

    /// Returns the removal counts so far.
    pub fn report(&self) -> &FilterReport {
        &self.report
    }

    /// Returns the removal counts, consuming the filter.
    pub fn into_report(self) -> FilterReport {
        self.report
    }
}

/// Counts of candidates removed, per rule code, for one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterReport {
    counts: BTreeMap<String, u32>,
}

impl FilterReport {
    /// Records one removal.
    pub fn record(&mut self, rule: DenyRule) {
        *self.counts.entry(rule.code().to_owned()).or_default() += 1;
    }

    /// Total removals.
    pub fn total(&self) -> u32 {
        self.counts.values().sum()
    }

    /// The counts by rule code.
    pub fn into_counts(self) -> BTreeMap<String, u32> {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::Rights;

    fn approved_for_web() -> Rights {
        Rights {
            channels: Field::Known([Channel::web()].into_iter().collect()),
            visibility: Visibility::Public,
            ..Rights::unknown()
        }
    }

    fn web_at(now: Millis) -> ServeContext {
        ServeContext { channel: Channel::web(), campaign: None, country: None, now }
    }

    #[test]
    fn nothing_known_is_denied() {
        let decision = RightsPolicy::default().evaluate(&Rights::unknown(), &web_at(0));
        assert_eq!(decision, Decision::Denied(DenyRule::ChannelsUnknown));
    }

    #[test]
    fn approved_channel_is_allowed_and_others_denied() {
        let policy = RightsPolicy::default();
        assert_eq!(policy.evaluate(&approved_for_web(), &web_at(0)), Decision::Allowed);
        let email = ServeContext { channel: "email".parse().unwrap(), ..web_at(0) };
        assert_eq!(policy.evaluate(&approved_for_web(), &email), Decision::Denied(DenyRule::ChannelNotApproved));
    }

    #[test]
    fn licence_end_denies_from_the_exact_instant() {
        let rights = Rights { licence_end: Field::Known(1_000), ..approved_for_web() };
        let policy = RightsPolicy::default();
        assert_eq!(policy.evaluate(&rights, &web_at(999)), Decision::Allowed);
        assert_eq!(policy.evaluate(&rights, &web_at(1_000)), Decision::Denied(DenyRule::LicenceExpired));
    }

    #[test]
    fn unparsable_values_deny() {
        let policy = RightsPolicy::default();
        let bad_end = Rights { licence_end: Field::Unknown("31/02/2027?".to_owned()), ..approved_for_web() };
        assert_eq!(policy.evaluate(&bad_end, &web_at(0)), Decision::Denied(DenyRule::LicenceDatesUnknown));
        let bad_territory = Rights { territory: Field::Unknown("Narnia".to_owned()), ..approved_for_web() };
        assert_eq!(policy.evaluate(&bad_territory, &web_at(0)), Decision::Denied(DenyRule::TerritoryUnknown));
    }

    #[test]
    fn country_list_needs_a_known_matching_country() {
        let rights = Rights {
            territory: Field::Known(Territory::Countries(["GB".to_owned()].into_iter().collect())),
            ..approved_for_web()
        };
        let policy = RightsPolicy::default();
        assert_eq!(policy.evaluate(&rights, &web_at(0)), Decision::Denied(DenyRule::TerritoryUnknown));
        let in_gb = ServeContext { country: Some("GB".to_owned()), ..web_at(0) };
        assert_eq!(policy.evaluate(&rights, &in_gb), Decision::Allowed);
        let in_fr = ServeContext { country: Some("FR".to_owned()), ..web_at(0) };
        assert_eq!(policy.evaluate(&rights, &in_fr), Decision::Denied(DenyRule::TerritoryNotApproved));
    }

    #[test]
    fn campaign_only_assets_need_their_campaign() {
        let rights =
            Rights { campaigns: Field::Known(["spring".to_owned()].into_iter().collect()), ..approved_for_web() };
        let policy = RightsPolicy::default();
        let spring = ServeContext { campaign: Some("spring".to_owned()), ..web_at(0) };
        let autumn = ServeContext { campaign: Some("autumn".to_owned()), ..web_at(0) };

        assert_eq!(policy.evaluate(&rights, &spring), Decision::Allowed);
        assert_eq!(policy.evaluate(&rights, &autumn), Decision::Denied(DenyRule::CampaignNotApproved));
        assert_eq!(policy.evaluate(&rights, &web_at(0)), Decision::Denied(DenyRule::CampaignNotApproved));
    }

    #[test]
    fn private_galleries_deny() {
        let rights = Rights { visibility: Visibility::Private, ..approved_for_web() };
        assert_eq!(RightsPolicy::default().evaluate(&rights, &web_at(0)), Decision::Denied(DenyRule::NotPublic));
    }
}
