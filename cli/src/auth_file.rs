//! Writing a profile of `~/.databrickscfg` while keeping every other profile, comment and
//! key as it was (rust-ini drops comments, so the text is edited line by line).

use std::io::Write;
use std::path::Path;

/// `text` with `[profile]` holding `values` (replaced in place when the key exists, added
/// after the section header otherwise); the section is appended when missing.
pub fn set_profile_values(text: &str, profile: &str, values: &[(&str, &str)]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let t = l.trim();
        t.starts_with('[') && t.ends_with(']')
    };
    let start = lines
        .iter()
        .position(|l| header(l) && l.trim()[1..l.trim().len() - 1].trim() == profile);
    let Some(start) = start else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{profile}]\n"));
        for (k, v) in values {
            out.push_str(&format!("{k} = {v}\n"));
        }
        return out;
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| header(l))
        .map_or(lines.len(), |i| start + 1 + i);
    let key_of = |l: &str| {
        let t = l.trim_start();
        if t.starts_with('#') || t.starts_with(';') {
            return None;
        }
        t.split_once(['=', ':']).map(|(k, _)| k.trim().to_owned())
    };
    let mut out: Vec<String> = lines[..=start].iter().map(|l| l.to_string()).collect();
    let missing: Vec<&(&str, &str)> = values
        .iter()
        .filter(|(k, _)| !lines[start + 1..end].iter().any(|l| key_of(l).as_deref() == Some(k)))
        .collect();
    for (k, v) in &missing {
        out.push(format!("{k} = {v}"));
    }
    for l in &lines[start + 1..end] {
        match key_of(l).and_then(|k| values.iter().find(|(vk, _)| *vk == k)) {
            Some((k, v)) => out.push(format!("{k} = {v}")),
            None => out.push(l.to_string()),
        }
    }
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

/// Writes `text` to `path` atomically, readable only by the owner.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "\
; my workspaces
[DEFAULT]
host = https://old.example.com
token = dapi-keep   # inline

[other]
# the staging one
host = https://other.example.com
cluster_id = 123
";

    #[test]
    fn updates_in_place_and_keeps_the_rest() {
        let v = [("host", "http://127.0.0.1:1"), ("auth_type", "external-browser")];
        let out = set_profile_values(CFG, "DEFAULT", &v);
        assert_eq!(
            out,
            "; my workspaces\n[DEFAULT]\nauth_type = external-browser\nhost = http://127.0.0.1:1\ntoken = dapi-keep   # inline\n\n[other]\n# the staging one\nhost = https://other.example.com\ncluster_id = 123\n"
        );
        let out = set_profile_values(CFG, "new", &v);
        assert!(out.starts_with(CFG));
        assert!(
            out.ends_with("\n\n[new]\nhost = http://127.0.0.1:1\nauth_type = external-browser\n"),
            "{out}"
        );
        assert_eq!(set_profile_values("", "p", &v[..1]), "[p]\nhost = http://127.0.0.1:1\n");
        let ini = ini::Ini::load_from_str(&set_profile_values(CFG, "other", &v)).unwrap();
        let other = ini.section(Some("other")).unwrap();
        assert_eq!(other.get("auth_type"), Some("external-browser"));
        assert_eq!(other.get("cluster_id"), Some("123"));
    }
}
