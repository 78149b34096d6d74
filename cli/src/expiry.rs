//! Branch expiry: `--ttl`, `--expire-time`, `--no-expiry`.

use lakebase::types;

use crate::args::ExpiryArgs;
use crate::exit::Failure;

/// The expiry asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Expiry {
    /// From now.
    Ttl(std::time::Duration),
    /// At a time.
    At(chrono::DateTime<chrono::Utc>),
    /// Never.
    Never,
}

impl Expiry {
    /// Reads the options; `None` when none was given.
    pub fn from_args(args: &ExpiryArgs) -> Result<Option<Expiry>, Failure> {
        if let Some(ttl) = args.ttl {
            let ttl: std::time::Duration = ttl.into();
            if ttl.is_zero() {
                return Err(Failure::usage("--ttl must be longer than zero"));
            }
            return Ok(Some(Expiry::Ttl(ttl)));
        }
        if let Some(at) = &args.expire_time {
            let at = chrono::DateTime::parse_from_rfc3339(at)
                .map_err(|e| Failure::usage(format!("--expire-time {at:?} is not an RFC 3339 time: {e}")))?;
            return Ok(Some(Expiry::At(at.with_timezone(&chrono::Utc))));
        }
        Ok(args.no_expiry.then_some(Expiry::Never))
    }

    /// Sets the spec's expiration (exactly one of `ttl`, `expire_time`, `no_expiry`).
    pub fn apply(&self, spec: &mut types::BranchSpec) {
        spec.ttl = None;
        spec.expire_time = None;
        spec.no_expiry = None;
        match self {
            Expiry::Ttl(d) => spec.ttl = Some(types::Duration::from_std(*d)),
            Expiry::At(t) => spec.expire_time = Some(*t),
            Expiry::Never => spec.no_expiry = Some(true),
        }
    }
}

/// The field mask path of a branch's expiration (a oneof of the spec).
pub const EXPIRATION_MASK: &str = "spec.expiration";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_one_field() {
        let args = ExpiryArgs {
            ttl: Some("3d".parse().unwrap()),
            ..Default::default()
        };
        let mut spec = types::BranchSpec {
            no_expiry: Some(true),
            ..Default::default()
        };
        Expiry::from_args(&args).unwrap().unwrap().apply(&mut spec);
        assert_eq!(spec.ttl.map(|d| d.seconds()), Some(259_200));
        assert_eq!(spec.no_expiry, None);
        let bad = ExpiryArgs {
            expire_time: Some("tomorrow".into()),
            ..Default::default()
        };
        assert!(Expiry::from_args(&bad).is_err());
        assert_eq!(Expiry::from_args(&ExpiryArgs::default()).unwrap(), None);
    }
}
