//! `cargo xtask public-api [--bless]`: the public API of the user-facing crates as text,
//! checked in under `api/` so that every public change shows in review.
//!
//! The listing is read from the source with `syn` (stable Rust; rustdoc's JSON output
//! needs nightly): every module file reachable from the crate root through `mod`
//! declarations, and in it every `pub` item (not `pub(crate)`) with its signature and no
//! body or docs: functions, structs with their public fields, enums, traits with their
//! items, constants, statics, type aliases, `pub use` re-exports as written, exported
//! macros by name, inherent impls with their `pub` methods and trait impls by header.
//! Items a macro expands to are not seen (the invocation is listed); modules are named
//! by file, so an item of a private module re-exported elsewhere is listed where defined.
//!
//! Without `--bless` it fails, naming the changed lines, when the listing differs from
//! the checked-in one; with it, it rewrites the listing.

use std::path::{Path, PathBuf};

use syn::{ImplItem, Item, TraitItem, Visibility};

/// The crates listed: package directory and listing file.
const CRATES: &[(&str, &str)] = &[
    ("client-ext", "api/lakebase.txt"),
    ("postgres", "api/lakebase-postgres.txt"),
];

/// Compares (or with `bless`, rewrites) every listing.
pub fn run(root: &Path, bless: bool) -> Result<(), String> {
    let mut stale = Vec::new();
    for (dir, listing) in CRATES {
        let text = listing_of(&root.join(dir).join("src/lib.rs"))?;
        let path = root.join(listing);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if bless {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {listing}");
        } else {
            stale.push(format!("{listing}:\n{}", changed_lines(&current, &text)));
        }
    }
    if stale.is_empty() {
        eprintln!("the public API listings match the sources");
        Ok(())
    } else {
        Err(format!(
            "the public API changed:\n{}\nreview it, then run `cargo xtask public-api --bless` and commit api/",
            stale.join("\n")
        ))
    }
}

/// The lines only in one of the two texts, `-` (checked in) and `+` (the sources).
fn changed_lines(old: &str, new: &str) -> String {
    let old_lines: std::collections::BTreeSet<&str> = old.lines().collect();
    let new_lines: std::collections::BTreeSet<&str> = new.lines().collect();
    let gone = old_lines.difference(&new_lines).map(|l| format!("- {l}"));
    let came = new_lines.difference(&old_lines).map(|l| format!("+ {l}"));
    gone.chain(came).collect::<Vec<_>>().join("\n")
}

/// The listing of the crate rooted at `lib`.
pub fn listing_of(lib: &Path) -> Result<String, String> {
    let mut out = String::new();
    walk(lib, "crate", &mut out)?;
    Ok(out)
}

fn walk(file: &Path, module: &str, out: &mut String) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed = syn::parse_file(&text).map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
    let dir = module_dir(file);
    let mut items = Vec::new();
    let mut children = Vec::new();
    for item in parsed.items {
        if is_test_only(&item) {
            continue;
        }
        if let Item::Mod(m) = &item {
            let name = m.ident.to_string();
            if m.content.is_none() {
                let child = [dir.join(format!("{name}.rs")), dir.join(&name).join("mod.rs")]
                    .into_iter()
                    .find(|p| p.exists())
                    .ok_or_else(|| format!("{}: no file for `mod {name}`", file.display()))?;
                children.push((child, format!("{module}::{name}")));
            }
        }
        if let Some(item) = public_part(item) {
            items.push(item);
        }
    }
    if !items.is_empty() {
        let mut file: syn::File = syn::parse_quote!();
        file.items = items;
        out.push_str(&format!("// {module}\n{}\n", prettyplease::unparse(&file)));
    }
    for (child, name) in children {
        walk(&child, &name, out)?;
    }
    Ok(())
}

/// The directory holding the files of `file`'s child modules.
fn module_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("lib" | "main" | "mod") | None => parent,
        Some(stem) => parent.join(stem),
    }
}

fn is_test_only(item: &Item) -> bool {
    let attrs = match item {
        Item::Mod(m) => &m.attrs,
        Item::Fn(f) => &f.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Use(u) => &u.attrs,
        _ => return false,
    };
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| m.path().is_ident("test")))
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// Attributes that change what users can do: derives, `non_exhaustive`, `must_use`,
/// deprecation, `cfg`/`cfg_attr` (feature gates), `repr`, `macro_export`.
fn keep_attrs(attrs: &mut Vec<syn::Attribute>) {
    attrs.retain(|a| {
        [
            "derive",
            "non_exhaustive",
            "must_use",
            "deprecated",
            "cfg",
            "cfg_attr",
            "repr",
            "macro_export",
        ]
        .iter()
        .any(|k| a.path().is_ident(k))
    });
}

fn empty_block() -> syn::Block {
    syn::parse_quote!({})
}

/// The public part of an item, without bodies or docs; `None` when nothing of it is public.
fn public_part(item: Item) -> Option<Item> {
    Some(match item {
        Item::Fn(mut f) if is_pub(&f.vis) => {
            keep_attrs(&mut f.attrs);
            f.block = Box::new(empty_block());
            Item::Fn(f)
        }
        Item::Struct(mut s) if is_pub(&s.vis) => {
            keep_attrs(&mut s.attrs);
            let fields = std::mem::replace(&mut s.fields, syn::Fields::Unit);
            s.fields = match fields {
                syn::Fields::Named(mut named) => {
                    named.named = named
                        .named
                        .into_iter()
                        .filter(|f| is_pub(&f.vis))
                        .map(|mut f| {
                            keep_attrs(&mut f.attrs);
                            f
                        })
                        .collect();
                    syn::Fields::Named(named)
                }
                syn::Fields::Unnamed(mut unnamed) => {
                    for f in unnamed.unnamed.iter_mut() {
                        keep_attrs(&mut f.attrs);
                        if !is_pub(&f.vis) {
                            f.ty = syn::parse_quote!(_);
                        }
                    }
                    syn::Fields::Unnamed(unnamed)
                }
                unit => unit,
            };
            Item::Struct(s)
        }
        Item::Enum(mut e) if is_pub(&e.vis) => {
            keep_attrs(&mut e.attrs);
            for v in e.variants.iter_mut() {
                keep_attrs(&mut v.attrs);
                for f in v.fields.iter_mut() {
                    keep_attrs(&mut f.attrs);
                }
            }
            Item::Enum(e)
        }
        Item::Trait(mut t) if is_pub(&t.vis) => {
            keep_attrs(&mut t.attrs);
            for i in t.items.iter_mut() {
                match i {
                    TraitItem::Fn(f) => {
                        keep_attrs(&mut f.attrs);
                        f.default = None;
                        f.semi_token = Some(Default::default());
                    }
                    TraitItem::Const(c) => {
                        keep_attrs(&mut c.attrs);
                        c.default = None;
                    }
                    TraitItem::Type(ty) => keep_attrs(&mut ty.attrs),
                    _ => {}
                }
            }
            Item::Trait(t)
        }
        Item::Const(mut c) if is_pub(&c.vis) => {
            keep_attrs(&mut c.attrs);
            c.expr = Box::new(syn::parse_quote!(..));
            Item::Const(c)
        }
        Item::Static(mut s) if is_pub(&s.vis) => {
            keep_attrs(&mut s.attrs);
            s.expr = Box::new(syn::parse_quote!(..));
            Item::Static(s)
        }
        Item::Type(mut t) if is_pub(&t.vis) => {
            keep_attrs(&mut t.attrs);
            Item::Type(t)
        }
        Item::Use(mut u) if is_pub(&u.vis) => {
            keep_attrs(&mut u.attrs);
            Item::Use(u)
        }
        Item::Mod(mut m) if is_pub(&m.vis) => {
            keep_attrs(&mut m.attrs);
            m.content = None;
            m.semi = Some(Default::default());
            Item::Mod(m)
        }
        Item::Macro(mut m) if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) => {
            keep_attrs(&mut m.attrs);
            m.mac.tokens = proc_macro2::TokenStream::new();
            Item::Macro(m)
        }
        // A macro invocation at item level may expand to public items: list it as written.
        Item::Macro(mut m) if m.ident.is_none() => {
            keep_attrs(&mut m.attrs);
            Item::Macro(m)
        }
        Item::Impl(mut i) => {
            keep_attrs(&mut i.attrs);
            if i.trait_.is_some() {
                i.items.clear();
                return Some(Item::Impl(i));
            }
            i.items = i
                .items
                .into_iter()
                .filter_map(|item| match item {
                    ImplItem::Fn(mut f) if is_pub(&f.vis) => {
                        keep_attrs(&mut f.attrs);
                        f.block = empty_block();
                        Some(ImplItem::Fn(f))
                    }
                    ImplItem::Const(mut c) if is_pub(&c.vis) => {
                        keep_attrs(&mut c.attrs);
                        c.expr = syn::parse_quote!(..);
                        Some(ImplItem::Const(c))
                    }
                    _ => None,
                })
                .collect();
            if i.items.is_empty() {
                return None;
            }
            Item::Impl(i)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_public_signatures_without_bodies_docs_or_private_parts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lib.rs"),
            r#"
            //! Crate docs.
            mod inner;
            pub use inner::Thing;
            /// Docs go.
            pub fn hello(x: u32) -> u32 { x + 1 }
            fn private() {}
            pub(crate) fn internal() {}
            #[derive(Debug)]
            #[non_exhaustive]
            pub struct Config { pub host: String, secret: String }
            impl Config { pub fn new() -> Self { todo!() } fn hidden(&self) {} }
            impl std::fmt::Display for Config { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) } }
            #[cfg(test)]
            mod tests { pub fn not_listed() {} }
            "#,
        )
        .unwrap();
        std::fs::write(dir.path().join("inner.rs"), "pub struct Thing(pub u8, u16);\n").unwrap();
        let listing = listing_of(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(
            listing,
            "// crate\npub use inner::Thing;\npub fn hello(x: u32) -> u32 {}\n#[derive(Debug)]\n#[non_exhaustive]\n\
             pub struct Config {\n    pub host: String,\n}\nimpl Config {\n    pub fn new() -> Self {}\n}\n\
             impl std::fmt::Display for Config {}\n\n// crate::inner\npub struct Thing(pub u8, _);\n\n"
        );
    }
}
