//! Property tests of the rights filter over generated rights, requests and candidate lists.

use std::collections::BTreeSet;

use loci_shared::rights::{
    Channel, Decision, Field, Rights, RightsFilter, RightsPolicy, ServeContext, Territory, Visibility,
};
use proptest::prelude::*;

const CHANNELS: [&str; 5] = ["web", "email", "social", "partner", "print"];
const COUNTRIES: [&str; 4] = ["GB", "FR", "US", "DE"];

fn channel(index: usize) -> Channel {
    CHANNELS[index].parse().expect("valid channel")
}

fn field<T: std::fmt::Debug + Clone + 'static>(
    known: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Field<T>> {
    prop_oneof![Just(Field::Absent), known.prop_map(Field::Known), "[a-z/?]{1,6}".prop_map(Field::Unknown)]
}

fn rights() -> impl Strategy<Value = Rights> {
    let channels = proptest::collection::btree_set(0..CHANNELS.len(), 0..4)
        .prop_map(|set| set.into_iter().map(channel).collect::<BTreeSet<_>>());
    let campaigns = proptest::collection::btree_set("[ab]", 0..3);
    let territory = prop_oneof![
        Just(Territory::Worldwide),
        proptest::collection::btree_set(0..COUNTRIES.len(), 1..3)
            .prop_map(|set| Territory::Countries(set.into_iter().map(|i| COUNTRIES[i].to_owned()).collect())),
    ];
    let visibility = prop_oneof![
        Just(Visibility::Public),
        Just(Visibility::Private),
        Just(Visibility::PermissionOnly),
        Just(Visibility::Unknown)
    ];
    (
        field(channels),
        field(campaigns),
        field(0i64..2_000),
        field(0i64..2_000),
        field(territory),
        field(any::<bool>()),
        field(any::<bool>()),
        visibility,
    )
        .prop_map(
            |(
                channels,
                campaigns,
                licence_start,
                licence_end,
                territory,
                model_release,
                property_release,
                visibility,
            )| Rights {
                channels,
                campaigns,
                licence_start,
                licence_end,
                territory,
                model_release,
                property_release,
                visibility,
                ..Rights::unknown()
            },
        )
}

fn context() -> impl Strategy<Value = ServeContext> {
    (0..CHANNELS.len(), proptest::option::of("[abc]"), proptest::option::of(0..COUNTRIES.len()), 0i64..2_000).prop_map(
        |(c, campaign, country, now)| ServeContext {
            channel: channel(c),
            campaign,
            country: country.map(|i| COUNTRIES[i].to_owned()),
            now,
        },
    )
}

fn policy() -> impl Strategy<Value = RightsPolicy> {
    proptest::collection::btree_set(0..CHANNELS.len(), 0..2)
        .prop_map(|set| RightsPolicy { release_required_on: set.into_iter().map(channel).collect() })
}

/// The conditions under which an asset may be shown, written independently of the policy's
/// code: every one must hold.
fn plainly_allowed(rights: &Rights, context: &ServeContext, policy: &RightsPolicy) -> bool {
    let channel_ok = matches!(&rights.channels, Field::Known(set) if set.contains(&context.channel));
    let campaign_ok = match (&rights.campaigns, &context.campaign) {
        (Field::Unknown(_), _) => false,
        (Field::Known(set), Some(campaign)) => set.contains(campaign),
        (Field::Known(set), None) => set.is_empty(),
        _ => true,
    };
    let start_ok = match rights.licence_start {
        Field::Known(start) => context.now >= start,
        Field::Absent => true,
        Field::Unknown(_) => false,
    };
    let end_ok = match rights.licence_end {
        Field::Known(end) => context.now < end,
        Field::Absent => true,
        Field::Unknown(_) => false,
    };
    let territory_ok = match (&rights.territory, &context.country) {
        (Field::Absent, _) | (Field::Known(Territory::Worldwide), _) => true,
        (Field::Known(Territory::Countries(set)), Some(country)) => set.contains(country),
        _ => false,
    };
    let release_ok = !policy.release_required_on.contains(&context.channel)
        || (rights.model_release == Field::Known(true) && rights.property_release == Field::Known(true));
    channel_ok
        && campaign_ok
        && start_ok
        && end_ok
        && territory_ok
        && release_ok
        && rights.visibility == Visibility::Public
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn filter_output_holds_only_plainly_allowed_assets(
        catalog in proptest::collection::vec(rights(), 0..40),
        context in context(),
        policy in policy(),
    ) {
        let mut filter = RightsFilter::new(&policy, &context);
        let kept = filter.retain(catalog.iter().enumerate(), |(_, rights)| *rights);

        for (_, rights) in &kept {
            prop_assert!(plainly_allowed(rights, &context, &policy), "denied asset kept: {rights:?} for {context:?}");
        }
        let expected = catalog.iter().filter(|r| plainly_allowed(r, &context, &policy)).count();
        prop_assert_eq!(kept.len(), expected);
        prop_assert_eq!(filter.report().total() as usize, catalog.len() - kept.len());
    }

    #[test]
    fn lifting_a_denial_never_removes_an_allowed_asset(
        catalog in proptest::collection::vec(rights(), 1..40),
        context in context(),
        policy in policy(),
        target in any::<prop::sample::Index>(),
    ) {
        let mut before = RightsFilter::new(&policy, &context);
        let kept_before: BTreeSet<usize> = before.retain(catalog.iter().enumerate(), |(_, r)| *r).into_iter().map(|(i, _)| i).collect();

        // Lift every restriction on one asset.
        let index = target.index(catalog.len());
        let mut relaxed = catalog.clone();
        relaxed[index] = Rights {
            channels: Field::Known(CHANNELS.iter().map(|c| c.parse().expect("valid")).collect()),
            visibility: Visibility::Public,
            model_release: Field::Known(true),
            property_release: Field::Known(true),
            ..Rights::unknown()
        };
        let mut after = RightsFilter::new(&policy, &context);
        let kept_after: BTreeSet<usize> = after.retain(relaxed.iter().enumerate(), |(_, r)| *r).into_iter().map(|(i, _)| i).collect();

        prop_assert!(kept_before.is_subset(&kept_after));
        prop_assert!(kept_after.contains(&index));
    }

    #[test]
    fn cache_lifetime_never_outlasts_an_admitted_licence(
        catalog in proptest::collection::vec(rights(), 0..40),
        context in context(),
    ) {
        let policy = RightsPolicy::default();
        let mut filter = RightsFilter::new(&policy, &context);
        let kept = filter.retain(catalog.iter(), |r| *r);

        for rights in kept {
            if let Field::Known(end) = rights.licence_end {
                prop_assert!(filter.valid_until().is_some_and(|until| until <= end));
                // At the instant the response stops being valid, the asset is denied.
                let at_expiry = ServeContext { now: end, ..context.clone() };
                prop_assert!(!policy.evaluate(rights, &at_expiry).is_allowed());
            }
        }
        prop_assert_ne!(policy.evaluate(&Rights::unknown(), &context), Decision::Allowed);
    }
}
