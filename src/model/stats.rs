/// Traffic counters and rate estimates of a service or destination (`IPVS_STATS_ATTR_*`).
/// Rates are per second (bytes per second for `inbps`/`outbps`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl Stats {
    const ZERO: Stats = Stats {
        conns: 0,
        inpkts: 0,
        outpkts: 0,
        inbytes: 0,
        outbytes: 0,
        cps: 0,
        inpps: 0,
        outpps: 0,
        inbps: 0,
        outbps: 0,
    };
}

/// The counters of a service or real server as a table holds them: 8 bytes, and an
/// allocation only when they are not all zero. A [`Stats`] is 80 bytes, three of them per
/// service of two real servers, and a listing without `--stats`/`--rate` reads none: at
/// 100,000 services they were most of a listing's memory. Reads as a [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(Option<Box<Stats>>);

impl From<Stats> for Counters {
    fn from(stats: Stats) -> Self {
        Counters((stats != Stats::ZERO).then(|| Box::new(stats)))
    }
}

impl std::ops::Deref for Counters {
    type Target = Stats;

    fn deref(&self) -> &Stats {
        self.0.as_deref().unwrap_or(&Stats::ZERO)
    }
}

impl std::ops::DerefMut for Counters {
    fn deref_mut(&mut self) -> &mut Stats {
        self.0.get_or_insert_with(Box::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_counters_take_no_allocation_and_read_as_zero() {
        let zero = Counters::from(Stats::default());
        assert!(zero.0.is_none());
        assert_eq!(*zero, Stats::default());
        let mut some = Counters::from(Stats {
            conns: 3,
            ..Stats::default()
        });
        assert_eq!(some.conns, 3);
        some.inpkts += 2;
        assert_eq!((some.conns, some.inpkts), (3, 2));
        let mut grown = Counters::default();
        grown.outbytes += 7;
        assert_eq!(grown.outbytes, 7);
        assert_eq!(std::mem::size_of::<Counters>(), 8);
    }
}
