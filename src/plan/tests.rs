//! The planner without a kernel: worked examples, and a model of the kernel's table
//! (destinations prepended, as `ip_vs_new_dest` does) on which random plans must give
//! exactly the desired table, with an empty plan the second time.

use std::net::IpAddr;

use super::*;
use crate::model::{AddressFamily, FwdMethod, RealServer, Service};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(vip: &str, port: u16) -> ServiceKey {
    ServiceKey::tcp(ip(vip), port)
}

fn dest(addr: &str, weight: u32) -> Destination {
    Destination::new(ip(addr), 80, FwdMethod::Masq).weight(weight)
}

fn desired(service: Service, dests: &[Destination]) -> DesiredService {
    DesiredService {
        vs: dests
            .iter()
            .cloned()
            .fold(VirtualService::new(service), VirtualService::with_dest),
        origin: Origin::Line(1),
        dest_origins: vec![Origin::Line(2); dests.len()],
    }
}

/// The live table after `plan`, by the kernel's rules.
fn run(current: &[VirtualService], plan: &Plan) -> Vec<VirtualService> {
    run_steps(current, &plan.steps)
}

fn run_steps(current: &[VirtualService], steps: &[Step]) -> Vec<VirtualService> {
    let mut table = current.to_vec();
    let find = |table: &mut Vec<VirtualService>, key: ServiceKey| {
        table
            .iter()
            .position(|vs| vs.service.key == key)
            .expect("the plan only touches services that exist")
    };
    for step in steps {
        match &step.request() {
            Request::AddService(svc) => {
                assert!(table.iter().all(|vs| vs.service.key != svc.key), "EEXIST");
                table.push(VirtualService::new(svc.clone()));
            }
            Request::EditService(svc) => {
                let i = find(&mut table, svc.key);
                table[i].service = svc.clone();
            }
            Request::DelService(key) => {
                let i = find(&mut table, *key);
                table.remove(i);
            }
            Request::AddDest(key, dest) => {
                let i = find(&mut table, *key);
                assert!(
                    table[i].dests.iter().all(|rs| rs.dest.key() != dest.key()),
                    "EEXIST"
                );
                table[i].dests.insert(0, RealServer::new(dest.clone()));
            }
            Request::EditDest(key, dest) => {
                let i = find(&mut table, *key);
                let rs = table[i]
                    .dests
                    .iter_mut()
                    .find(|rs| rs.dest.key() == dest.key())
                    .expect("ENOENT");
                rs.dest = dest.clone();
            }
            Request::DelDest(key, dk) => {
                let i = find(&mut table, *key);
                let before = table[i].dests.len();
                table[i].dests.retain(|rs| rs.dest.key() != *dk);
                assert_eq!(table[i].dests.len(), before - 1, "ENOENT");
            }
            other => panic!("a plan has no {other:?}"),
        }
    }
    table
}

fn live(services: Vec<VirtualService>) -> Vec<VirtualService> {
    services
}

fn requests(plan: &Plan) -> Vec<Request> {
    plan.steps.iter().map(Step::request).collect()
}

#[test]
fn an_equal_table_needs_nothing() {
    let svc = Service::new(tcp("10.0.0.1", 80), "rr");
    let d = desired(svc, &[dest("10.0.0.2", 1), dest("10.0.0.3", 2)]);
    let current = run(
        &[],
        &plan(std::slice::from_ref(&d), &[], &Scope::everything(), false),
    );
    assert!(plan(&[d], &current, &Scope::everything(), false).is_empty());
}

#[test]
fn a_new_service_gets_its_destinations_in_order() {
    let svc = Service::new(tcp("10.0.0.1", 80), "rr");
    let (a, b) = (dest("10.0.0.2", 1), dest("10.0.0.3", 1));
    let file = [desired(svc.clone(), &[a.clone(), b.clone()])];
    let p = plan(&file, &[], &Scope::everything(), false);
    let key = svc.key;
    assert_eq!(
        requests(&p),
        [
            Request::AddService(svc),
            Request::AddDest(key, b),
            Request::AddDest(key, a)
        ]
    );
}

#[test]
fn ordered_adds_edits_then_deletes() {
    let old_key = tcp("10.0.0.1", 80);
    let new_key = tcp("10.0.0.1", 8080);
    let kept = Service::new(tcp("10.0.0.9", 80), "wlc");
    let current = live(vec![
        VirtualService::new(Service::new(old_key, "rr")).with_dest(dest("10.0.0.2", 1)),
        VirtualService::new(kept.clone())
            .with_dest(dest("10.0.0.5", 1))
            .with_dest(dest("10.0.0.6", 1)),
    ]);
    let wanted = [
        desired(Service::new(new_key, "rr"), &[dest("10.0.0.2", 1)]),
        desired(
            Service {
                scheduler: "wrr".into(),
                ..kept.clone()
            },
            &[dest("10.0.0.5", 4), dest("10.0.0.7", 1)],
        ),
    ];
    let p = plan(&wanted, &current, &Scope::everything(), false);
    assert_eq!(
        requests(&p),
        [
            Request::AddService(Service::new(new_key, "rr")),
            Request::AddDest(new_key, dest("10.0.0.2", 1)),
            Request::EditDest(kept.key, dest("10.0.0.5", 4)),
            Request::AddDest(kept.key, dest("10.0.0.7", 1)),
            Request::EditService(Service {
                scheduler: "wrr".into(),
                ..kept.clone()
            }),
            Request::DelDest(kept.key, dest("10.0.0.6", 1).key()),
            Request::DelService(old_key),
        ]
    );
    assert!(plan(&wanted, &run(&current, &p), &Scope::everything(), false).is_empty());
}

#[test]
fn draining_sets_weight_zero_before_any_delete() {
    let key = tcp("10.0.0.1", 80);
    let gone = tcp("10.0.0.2", 80);
    let current = live(vec![
        VirtualService::new(Service::new(key, "rr"))
            .with_dest(dest("10.0.0.5", 3))
            .with_dest(dest("10.0.0.6", 3)),
        VirtualService::new(Service::new(gone, "rr")).with_dest(dest("10.0.0.7", 2)),
    ]);
    let wanted = [desired(Service::new(key, "rr"), &[dest("10.0.0.5", 3)])];
    let p = plan(&wanted, &current, &Scope::everything(), true);
    assert_eq!(
        requests(&p),
        [
            Request::EditDest(key, dest("10.0.0.6", 0)),
            Request::EditDest(gone, dest("10.0.0.7", 0)),
            Request::DelDest(key, dest("10.0.0.6", 0).key()),
            Request::DelService(gone),
        ]
    );
    assert_eq!(
        p.draining(),
        [
            (key, dest("10.0.0.6", 0).key()),
            (gone, dest("10.0.0.7", 0).key())
        ]
    );
    let [changes, moves, drain, deletes] = p.stages();
    assert_eq!(
        (changes.len(), moves.len(), drain.len(), deletes.len()),
        (0, 0, 2, 2)
    );
}

#[test]
fn hashing_schedulers_get_the_desired_order_with_the_fewest_moves() {
    let key = tcp("10.0.0.1", 80);
    let [a, b, c, e] = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"].map(|x| dest(x, 1));
    // The kernel lists c, b, a (newest first); desired: a, b, c, e.
    let current = live(vec![
        VirtualService::new(Service::new(key, "sh"))
            .with_dest(c.clone())
            .with_dest(b.clone())
            .with_dest(a.clone()),
    ]);
    let wanted = [desired(
        Service::new(key, "sh"),
        &[a.clone(), b.clone(), c.clone(), e.clone()],
    )];
    let p = plan(&wanted, &current, &Scope::everything(), false);
    // e is new and last: nothing can stay in place after it, so everything goes in front.
    let after = run(&current, &p);
    let order: Vec<_> = after[0].dests.iter().map(|rs| rs.dest.clone()).collect();
    assert_eq!(order, [a.clone(), b.clone(), c.clone(), e.clone()]);

    // Already a, b, c with c last: only a and b are moved... or nothing at all.
    let wanted = [desired(
        Service::new(key, "sh"),
        &[c.clone(), b.clone(), a.clone()],
    )];
    assert!(plan(&wanted, &current, &Scope::everything(), false).is_empty());
    let wanted = [desired(
        Service::new(key, "mh"),
        &[b.clone(), c.clone(), a.clone()],
    )];
    let p = plan(&wanted, &current, &Scope::everything(), false);
    assert_eq!(
        requests(&p),
        [
            Request::EditService(Service::new(key, "mh")),
            Request::DelDest(key, b.key()),
            Request::AddDest(key, b.clone()),
        ],
        "c, a keep their place; b moves in front, once every edit is taken"
    );
    // Moved with new settings: set in place first, so the kernel refuses them (if it
    // does) before the delete.
    let b3 = dest("10.0.0.3", 3);
    let wanted = [desired(
        Service::new(key, "sh"),
        &[e.clone(), b3.clone(), c.clone(), a.clone()],
    )];
    let p = plan(&wanted, &current, &Scope::everything(), false);
    assert_eq!(
        requests(&p),
        [
            Request::EditDest(key, b3.clone()),
            Request::DelDest(key, b.key()),
            Request::AddDest(key, b3.clone()),
            Request::AddDest(key, e.clone()),
        ]
    );
    assert_eq!(p.stages().map(<[Step]>::len), [1, 3, 0, 0]);
}

#[test]
fn other_schedulers_keep_existing_destinations_where_they_are() {
    let key = tcp("10.0.0.1", 80);
    let [a, b, c] = ["10.0.0.2", "10.0.0.3", "10.0.0.4"].map(|x| dest(x, 1));
    let current = live(vec![
        VirtualService::new(Service::new(key, "rr"))
            .with_dest(b.clone())
            .with_dest(a.clone()),
    ]);
    let wanted = [desired(
        Service::new(key, "rr"),
        &[a.clone(), b.clone(), c.clone()],
    )];
    let p = plan(&wanted, &current, &Scope::everything(), false);
    assert_eq!(requests(&p), [Request::AddDest(key, c.clone())]);
}

#[test]
fn services_outside_the_scope_are_left_alone_and_cannot_be_desired() {
    let scope = Scope {
        items: vec![
            "10.0.0.0/8".parse().unwrap(),
            "fwmark:100-199".parse().unwrap(),
        ],
    };
    let theirs = tcp("192.168.0.1", 80);
    let mark = ServiceKey::fwmark(AddressFamily::Inet, 150);
    let current = live(vec![
        VirtualService::new(Service::new(theirs, "rr")),
        VirtualService::new(Service::new(mark, "rr")),
    ]);
    let p = plan(&[], &current, &scope, false);
    assert_eq!(requests(&p), [Request::DelService(mark)]);
    let outside = [desired(Service::new(theirs, "wlc"), &[])];
    let problems = check(&outside, &scope);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .what
            .contains("outside --scope 10.0.0.0/8, fwmark:100-199")
    );
}

#[test]
fn duplicates_and_impossible_thresholds_are_problems() {
    let key = tcp("10.0.0.1", 80);
    let mut low_above_high = dest("10.0.0.3", 1);
    low_above_high.l_threshold = 5;
    let wanted = [
        desired(
            Service::new(key, "rr"),
            &[dest("10.0.0.2", 1), dest("10.0.0.2", 2)],
        ),
        desired(Service::new(key, "wlc"), &[low_above_high]),
    ];
    let problems: Vec<_> = check(&wanted, &Scope::everything())
        .iter()
        .map(|p| p.what.clone())
        .collect();
    assert_eq!(
        problems,
        [
            "tcp 10.0.0.1:80 real server 10.0.0.2:80 is already defined at line 2",
            "tcp 10.0.0.1:80 is already defined at line 1",
            "lower threshold 5 is above the upper one 0",
        ]
    );
}

#[test]
fn a_local_destination_matches_any_method() {
    let key = tcp("10.0.0.1", 80);
    let mut local = dest("10.0.0.2", 1);
    local.fwd = FwdMethod::Local;
    let current = live(vec![
        VirtualService::new(Service::new(key, "rr")).with_dest(local),
    ]);
    let wanted = [desired(Service::new(key, "rr"), &[dest("10.0.0.2", 1)])];
    assert!(plan(&wanted, &current, &Scope::everything(), false).is_empty());
    let wanted = [desired(Service::new(key, "rr"), &[dest("10.0.0.2", 2)])];
    assert_eq!(
        plan(&wanted, &current, &Scope::everything(), false)
            .steps
            .len(),
        1
    );
}

/// A small deterministic generator (no dependency for one test).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn random_table(rng: &mut Rng) -> Vec<VirtualService> {
    let schedulers = ["rr", "sh", "mh", "wlc"];
    let mut table = Vec::new();
    for s in 0..rng.next(5) {
        if rng.next(3) == 0 {
            continue;
        }
        let sched = schedulers[rng.next(4) as usize];
        let mut vs = VirtualService::new(Service::new(tcp("10.0.0.1", 80 + s as u16), sched));
        let mut used = HashSet::new();
        for _ in 0..rng.next(6) {
            let host = rng.next(6);
            if used.insert(host) {
                vs = vs.with_dest(dest(&format!("10.1.0.{host}"), rng.next(3) as u32));
            }
        }
        table.push(vs);
    }
    table
}

#[test]
fn random_plans_reach_the_desired_table_exactly() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..3000 {
        let current = random_table(&mut rng);
        let wanted: Vec<DesiredService> = random_table(&mut rng)
            .into_iter()
            .map(|vs| {
                let dests: Vec<_> = vs.dests.iter().map(|rs| rs.dest.clone()).collect();
                desired(vs.service, &dests)
            })
            .collect();
        let drain = rng.next(2) == 0;
        let p = plan(&wanted, &current, &Scope::everything(), drain);
        let after = run(&current, &p);
        assert_eq!(after.len(), wanted.len(), "{current:?} -> {wanted:?}");
        for w in &wanted {
            let got = after.iter().find(|vs| vs.service == w.vs.service).unwrap();
            let (mut got_dests, mut want_dests): (Vec<_>, Vec<_>) = (
                got.dests.iter().map(|rs| rs.dest.clone()).collect(),
                w.vs.dests.iter().map(|rs| rs.dest.clone()).collect(),
            );
            if !ORDER_HASHING_SCHEDULERS.contains(&w.vs.service.scheduler.as_str()) {
                let by_addr = |d: &Destination| d.addr;
                got_dests.sort_by_key(by_addr);
                want_dests.sort_by_key(by_addr);
            }
            assert_eq!(got_dests, want_dests, "{current:?} -> {wanted:?}: {p:?}");
        }
        assert!(
            plan(&wanted, &after, &Scope::everything(), drain).is_empty(),
            "the second plan must be empty"
        );
        stages_never_lose_what_is_wanted(&current, &p);
    }
}

/// What makes a refused step harmless: the first stage deletes nothing; a move deletes
/// a destination already at its new settings (taken in the first stage) and adds it
/// back at once; draining only sets weights to 0; the deletes come last.
fn stages_never_lose_what_is_wanted(current: &[VirtualService], p: &Plan) {
    let [changes, moves, drain, deletes] = p.stages();
    assert_eq!(
        [changes, moves, drain, deletes].concat(),
        p.steps,
        "the stages are the plan"
    );
    let is_delete = |s: &Step| matches!(s.change, Change::DelDest(..) | Change::DelService(_));
    assert!(!changes.iter().any(is_delete), "{p:?}");
    let after_changes = run_steps(current, changes);
    for (i, step) in moves.iter().enumerate() {
        if let Change::DelDest(svc, gone) = step.change {
            let Some(Change::AddDest(back, again)) = moves.get(i + 1).map(|s| s.change) else {
                panic!("a move deletes and adds back at once: {p:?}");
            };
            let vs = after_changes
                .iter()
                .find(|vs| vs.service.key == svc.key)
                .unwrap();
            let now = vs
                .dests
                .iter()
                .find(|rs| rs.dest.key() == gone.key())
                .unwrap();
            assert!(
                back.key == svc.key && now.dest == *again,
                "moved as it is: {p:?}"
            );
        }
    }
    assert!(
        drain
            .iter()
            .all(|s| matches!(s.change, Change::DrainDest(..))
                && matches!(s.request(), Request::EditDest(_, d) if d.weight == 0))
    );
    assert!(deletes.iter().all(is_delete), "{p:?}");
}

/// apply plans without the live services the table has as FILE wants them (it lets them
/// go as it reads them): the plan must be the very same as with the whole table.
#[test]
fn plans_without_the_unchanged_live_services_are_the_same() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut left_out = 0;
    for _ in 0..3000 {
        let current = random_table(&mut rng);
        let mut wanted: Vec<DesiredService> = random_table(&mut rng)
            .into_iter()
            .map(|vs| {
                let dests: Vec<_> = vs.dests.iter().map(|rs| rs.dest.clone()).collect();
                desired(vs.service, &dests)
            })
            .collect();
        // Some of FILE's services as they are live.
        for vs in &current {
            if rng.next(2) == 0 && wanted.iter().all(|d| d.vs.service.key != vs.service.key) {
                let dests: Vec<_> = vs.dests.iter().map(|rs| rs.dest.clone()).collect();
                wanted.push(desired(vs.service.clone(), &dests));
            }
        }
        let drain = rng.next(2) == 0;
        let scope = Scope::everything();
        let (unchanged, kept) = super::split_unchanged(&wanted, &current, &scope);
        left_out += current.len() - kept.len();
        let whole = plan(&wanted, &current, &scope, drain);
        let without = plan_except(&wanted, &unchanged, &kept, &scope, drain);
        assert_eq!(without.steps, whole.steps, "{current:?} -> {wanted:?}");
    }
    assert!(left_out > 1000, "only {left_out} live services left out");
}
