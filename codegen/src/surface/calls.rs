//! `client-ext/src/generated/calls.rs`: one call per operation on `lakebase::Client`.
//!
//! Every call takes its required arguments (typed names, ids, the body, the update mask)
//! and returns a request builder named after the operation (`CreateBranch`) with one
//! method per optional parameter. Builders implement `IntoFuture`; a list builder also
//! streams items and pages. How an operation's parameters become arguments is set out
//! in `spec/README.md`; `call` follows it step by step.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{Call, Resource, Segment, Surface, Target, pascal_case, snake_case};
use crate::passes::{OperationKind, ParamFact, ParamLocation, ParamType};

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The query parameters a list builder handles itself.
const PAGE_PARAMS: [&str; 2] = ["page_size", "page_token"];

/// The query parameter carrying a `FieldMask`.
const UPDATE_MASK: &str = "update_mask";

/// The tokens of `calls.rs`, or the operations that cannot be expressed.
pub fn typed_calls(surface: &Surface) -> Result<TokenStream, Vec<String>> {
    let mut problems = Vec::new();
    let mut items = Vec::new();
    for c in &surface.calls {
        match call(surface, c) {
            Ok(tokens) => items.push(tokens),
            Err(why) => problems.push(format!("{}: {why}", c.op.id)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let results = operation_results(surface);
    Ok(quote! {
        use crate::call::{CallOptions, check_required, run_with};
        use crate::retry::RetryPolicy;
        use crate::names::*;
        use crate::pagination::{ListPage, page_of, pager};
        use crate::{Client, Error, FieldMask, Operation, Pager, types};

        #(#items)*

        #(#results)*
    })
}

/// One `OperationResult` impl per distinct `result-schema` of `x-lakebase-operation`, so
/// `Operation<R, M>::wait` decodes every long-running operation's result.
fn operation_results(surface: &Surface) -> Vec<TokenStream> {
    let results: std::collections::BTreeSet<&str> = surface
        .calls
        .iter()
        .filter_map(|c| match &c.op.kind {
            OperationKind::LongRunning { result: Some(r), .. } => Some(r.as_str()),
            _ => None,
        })
        .collect();
    results
        .into_iter()
        .map(|r| {
            let ty = ident(r);
            quote! {
                impl crate::operation::OperationResult for types::#ty {
                    fn from_response(
                        response: &serde_json::Map<String, serde_json::Value>,
                        operation: &str,
                    ) -> Result<Self, Error> {
                        crate::operation::decode_result(response, operation, #r)
                    }
                }
            }
        })
        .collect()
}

/// One field of a builder and how it is filled.
struct Field {
    name: Ident,
    /// Its type; `None` for an argument that only feeds another field's initial value.
    ty: Option<TokenStream>,
    /// The argument of the `Client` method, if the field comes from one.
    arg: Option<(TokenStream, TokenStream)>,
    /// Initial value.
    init: TokenStream,
    /// A builder method setting it, if optional.
    setter: Option<TokenStream>,
}

/// Everything [`call`] collects before printing.
#[derive(Default)]
struct Parts {
    fields: Vec<Field>,
    checks: Vec<TokenStream>,
    prelude: Vec<TokenStream>,
    raw_args: Vec<TokenStream>,
    example_args: Vec<TokenStream>,
    example_setup: Vec<String>,
}

fn call(surface: &Surface, c: &Call) -> Result<TokenStream, String> {
    let op = &c.op;
    let mut parts = Parts::default();
    let target = target_field(surface, c, &mut parts)?;
    let created = created_resource(surface, &c.target);
    let is_list = matches!(op.kind, OperationKind::List { .. });

    if is_list {
        for (name, ty) in [
            ("page_size", quote!(Option<u32>)),
            ("page_token", quote!(Option<String>)),
        ] {
            parts.fields.push(Field {
                name: ident(name),
                ty: Some(ty),
                arg: None,
                init: quote!(None),
                setter: None,
            });
        }
    }
    let mut after_body = Vec::new();
    for p in &op.params {
        match p.location {
            ParamLocation::Path => {
                let expr = match (&c.target, &target) {
                    (Target::Verbatim { .. }, Some(t)) => quote!(#t.as_str()),
                    (_, Some(t)) => {
                        let acc = ident(&p.name);
                        quote!(#t.#acc())
                    }
                    (_, None) => return Err(format!("path parameter {} has no name to come from", p.name)),
                };
                parts.raw_args.push(expr);
            }
            ParamLocation::Query if is_list && PAGE_PARAMS.contains(&p.name.as_str()) => {
                let name = ident(&p.name);
                parts.raw_args.push(if p.name == "page_token" {
                    quote!(#name.as_deref())
                } else {
                    quote!(#name)
                });
            }
            ParamLocation::Query => {
                let is_id = created.is_some_and(|r| r.own_id() == Some(p.name.as_str()));
                if p.required && p.name != UPDATE_MASK {
                    required_query(p, created.filter(|_| is_id), &mut parts)?;
                } else if p.required {
                    after_body.push(p);
                    parts.raw_args.push(quote!(&update_mask));
                } else {
                    optional_query(p, created.filter(|_| is_id), &mut parts)?;
                }
            }
        }
    }
    body(surface, c, &mut parts)?;
    for p in after_body {
        let name = ident(&p.name);
        parts.fields.push(Field {
            name: name.clone(),
            ty: Some(quote!(FieldMask)),
            arg: Some((quote!(#name), quote!(&FieldMask))),
            init: quote!(#name.clone()),
            setter: None,
        });
        parts.prelude.push(quote!(let #name = #name.to_string();));
        parts.example_args.push(quote!(&mask));
        parts
            .example_setup
            .push("let mask = lakebase::FieldMask::new([\"spec\"])?;".to_string());
    }
    Ok(print(c, parts))
}

/// The resource a collection operation lists or creates.
fn created_resource<'s>(surface: &'s Surface, target: &Target) -> Option<&'s Resource> {
    match target {
        Target::TopCollection(child) | Target::Collection { child, .. } => Some(&surface.resources[*child]),
        _ => None,
    }
}

/// Adds the `name`/`parent` field and returns its identifier.
fn target_field(surface: &Surface, c: &Call, parts: &mut Parts) -> Result<Option<Ident>, String> {
    let (field, ty, sample) = match &c.target {
        Target::None | Target::TopCollection(_) => return Ok(None),
        Target::Verbatim { type_name, .. } => (
            "name",
            ident(type_name),
            format!("{}/operations/operation-id", sample_name(&surface.resources[0])),
        ),
        Target::Resource(i) => {
            let r = &surface.resources[*i];
            ("name", ident(&r.type_name()), sample_name(r))
        }
        Target::Collection { parent, .. } => {
            let r = &surface.resources[*parent];
            ("parent", ident(&r.type_name()), sample_name(r))
        }
    };
    let name = ident(field);
    parts.fields.push(Field {
        name: name.clone(),
        ty: Some(quote!(#ty)),
        arg: Some((quote!(#name), quote!(&#ty))),
        init: quote!(#name.clone()),
        setter: None,
    });
    parts.example_args.push(quote!(&#name));
    parts
        .example_setup
        .push(format!("let {field}: lakebase::{ty} = \"{sample}\".parse()?;"));
    Ok(Some(name))
}

/// A structurally valid name for examples: `projects/my-project/branches/my-branch`.
fn sample_name(r: &Resource) -> String {
    r.segments
        .iter()
        .map(|s| match s {
            Segment::Literal(w) => w.clone(),
            Segment::Id(id) => format!("my-{}", id.trim_end_matches("_id").replace('_', "-")),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The check of a new resource's id against its rule.
fn id_check(child: &Resource, id: TokenStream) -> TokenStream {
    let rule = super::names::rule_static(child.own_id().unwrap_or_default());
    quote!(#rule.check(#id)?;)
}

fn required_query(p: &ParamFact, created: Option<&Resource>, parts: &mut Parts) -> Result<(), String> {
    if p.ty != ParamType::String {
        return Err(format!("required query parameter {} is not a string", p.name));
    }
    let name = ident(&p.name);
    if let Some(child) = created {
        parts.checks.push(id_check(child, quote!(&#name)));
        let sample = format!("my-{}", p.name.trim_end_matches("_id").replace('_', "-"));
        parts.example_args.push(quote!(#sample));
    } else {
        parts.example_args.push(quote!("value"));
    }
    parts.fields.push(Field {
        name: name.clone(),
        ty: Some(quote!(String)),
        arg: Some((quote!(#name), quote!(&str))),
        init: quote!(#name.to_string()),
        setter: None,
    });
    parts.raw_args.push(quote!(&#name));
    Ok(())
}

fn optional_query(p: &ParamFact, created: Option<&Resource>, parts: &mut Parts) -> Result<(), String> {
    let name = ident(&p.name);
    let doc = format!(" {}", p.description);
    let (ty, setter_ty, value, raw) = match p.ty {
        ParamType::Bool => (quote!(bool), quote!(bool), quote!(#name), quote!(#name)),
        ParamType::Int32 => (quote!(i32), quote!(i32), quote!(#name), quote!(#name)),
        ParamType::String => (
            quote!(String),
            quote!(impl Into<String>),
            quote!(#name.into()),
            quote!(#name.as_deref()),
        ),
        ParamType::Other => return Err(format!("query parameter {} has an unsupported type", p.name)),
    };
    if let Some(child) = created {
        let check = id_check(child, quote!(id));
        parts.checks.push(quote! {
            if let Some(id) = #name.as_deref().filter(|id| !id.is_empty()) {
                #check
            }
        });
    }
    parts.fields.push(Field {
        name: name.clone(),
        ty: Some(quote!(Option<#ty>)),
        arg: None,
        init: quote!(None),
        setter: Some(quote! {
            #[doc = #doc]
            pub fn #name(mut self, #name: #setter_ty) -> Self {
                self.#name = Some(#value);
                self
            }
        }),
    });
    parts.raw_args.push(raw);
    Ok(())
}

/// The request body: a resource message as one argument, a `*Request` message flattened
/// into arguments (required fields) and builder methods (the rest), an empty message as
/// nothing.
fn body(surface: &Surface, c: &Call, parts: &mut Parts) -> Result<(), String> {
    let Some(schema_name) = &c.op.body else { return Ok(()) };
    let schema = surface
        .schemas
        .get(schema_name)
        .ok_or_else(|| format!("body schema {schema_name} is not an inline object"))?;
    let ty = ident(schema_name);
    let openapiv3::SchemaKind::Type(openapiv3::Type::Object(object)) = &schema.schema_kind else {
        return Err(format!("body schema {schema_name} is not an object"));
    };
    if object.properties.is_empty() {
        parts.raw_args.push(quote!(&types::#ty(::serde_json::Map::new())));
        return Ok(());
    }
    if schema_name.ends_with("Request") {
        return flattened_request(surface, schema_name, object, parts);
    }
    let name = ident(&snake_case(schema_name));
    let what = snake_case(schema_name);
    parts.fields.push(Field {
        name: name.clone(),
        ty: Some(quote!(types::#ty)),
        arg: Some((quote!(#name), quote!(types::#ty))),
        init: quote!(#name),
        setter: None,
    });
    // A masked update sends only the fields its mask names: required fields are a
    // create's concern.
    if c.op.method != "PATCH" {
        parts.checks.push(quote!(check_required(#what, &#name)?;));
    }
    parts.raw_args.push(quote!(&#name));
    parts.example_args.push(quote!(#name));
    parts
        .example_setup
        .push(format!("let {what} = lakebase::types::{schema_name}::default();"));
    Ok(())
}

fn flattened_request(
    surface: &Surface,
    schema_name: &str,
    object: &openapiv3::ObjectType,
    parts: &mut Parts,
) -> Result<(), String> {
    let ty = ident(schema_name);
    let mut inits = Vec::new();
    let mut setters = Vec::new();
    for (field, prop) in &object.properties {
        let f = ident(field);
        let openapiv3::ReferenceOr::Item(prop) = prop else {
            return Err(format!("{schema_name}.{field}: a bare $ref cannot carry a description"));
        };
        let doc = format!(" {}", prop.schema_data.description.as_deref().unwrap_or_default());
        let name_pattern = prop
            .schema_data
            .extensions
            .get("x-lakebase-name-pattern")
            .and_then(|v| v.as_str());
        if object.required.contains(field) && name_pattern.is_none() {
            let rust = rust_type(prop).ok_or_else(|| format!("{schema_name}.{field}: unsupported field type"))?;
            parts.fields.push(Field {
                name: f.clone(),
                ty: None,
                arg: Some((quote!(#f), quote!(impl Into<#rust>))),
                init: quote!(),
                setter: None,
            });
            inits.push(quote!(#f: Some(#f.into()),));
            let example = format!("<{}>::default()", rust).replace("types ::", "lakebase :: types ::");
            parts
                .example_args
                .push(example.parse().map_err(|e| format!("{schema_name}.{field}: {e}"))?);
        } else if let (true, Some(pattern)) = (object.required.contains(field), name_pattern) {
            let r = surface
                .resource_by_pattern(pattern)
                .ok_or_else(|| format!("{schema_name}.{field}: name pattern {pattern} is no resource's"))?;
            let name_ty = ident(&r.type_name());
            parts.fields.push(Field {
                name: f.clone(),
                ty: None,
                arg: Some((quote!(#f), quote!(&#name_ty))),
                init: quote!(),
                setter: None,
            });
            inits.push(quote!(#f: Some(#f.to_string()),));
            parts.example_args.push(quote!(&#f));
            parts.example_setup.push(format!(
                "let {field}: lakebase::{} = \"{}\".parse()?;",
                r.type_name(),
                sample_name(r)
            ));
        } else {
            let rust = rust_type(prop).ok_or_else(|| format!("{schema_name}.{field}: unsupported field type"))?;
            setters.push(quote! {
                #[doc = #doc]
                pub fn #f(mut self, #f: impl Into<#rust>) -> Self {
                    self.request.#f = Some(#f.into());
                    self
                }
            });
        }
    }
    parts.fields.push(Field {
        name: ident("request"),
        ty: Some(quote!(types::#ty)),
        arg: None,
        init: quote!(types::#ty { #(#inits)* ..Default::default() }),
        setter: Some(quote!(#(#setters)*)),
    });
    parts.raw_args.push(quote!(&request));
    Ok(())
}

/// The Rust type of a request field, for its builder method.
fn rust_type(prop: &openapiv3::Schema) -> Option<TokenStream> {
    use openapiv3::{SchemaKind, Type, VariantOrUnknownOrEmpty};
    match &prop.schema_kind {
        SchemaKind::Type(Type::String(s)) => match &s.format {
            VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::DateTime) => {
                Some(quote!(::chrono::DateTime<::chrono::Utc>))
            }
            VariantOrUnknownOrEmpty::Unknown(f) if f == "duration" => Some(quote!(types::Duration)),
            VariantOrUnknownOrEmpty::Empty => Some(quote!(String)),
            _ => None,
        },
        SchemaKind::Type(Type::Boolean(_)) => Some(quote!(bool)),
        SchemaKind::Type(Type::Array(a)) => {
            let item = a.items.as_ref().and_then(crate::passes::referenced_name)?;
            let item = ident(&item);
            Some(quote!(Vec<types::#item>))
        }
        SchemaKind::AllOf { .. } => {
            let name = match prop.schema_kind {
                SchemaKind::AllOf { ref all_of } if all_of.len() == 1 => match &all_of[0] {
                    openapiv3::ReferenceOr::Reference { reference } => reference.rsplit('/').next(),
                    _ => None,
                },
                _ => None,
            }?;
            let name = ident(name);
            Some(quote!(types::#name))
        }
        _ => None,
    }
}

fn print(c: &Call, parts: Parts) -> TokenStream {
    let op = &c.op;
    let method = ident(&op.id);
    let builder = ident(&pascal_case(&op.id));
    let stored: Vec<&Field> = parts.fields.iter().filter(|f| f.ty.is_some()).collect();
    let field_names: Vec<&Ident> = stored.iter().map(|f| &f.name).collect();
    let field_tys: Vec<&TokenStream> = stored.iter().filter_map(|f| f.ty.as_ref()).collect();
    let inits = stored.iter().map(|f| {
        let name = &f.name;
        let init = &f.init;
        if *name == init.to_string() {
            quote!(#name)
        } else {
            quote!(#name: #init)
        }
    });
    // What each page's request clones (`Copy` options are copied into it as they are).
    let captured: Vec<&Ident> = stored
        .iter()
        .filter(|f| !PAGE_PARAMS.contains(&f.name.to_string().as_str()))
        .filter(|f| !f.ty.as_ref().is_some_and(is_copy))
        .map(|f| &f.name)
        .collect();
    let args: Vec<TokenStream> = parts
        .fields
        .iter()
        .filter_map(|f| f.arg.as_ref())
        .map(|(n, t)| quote!(#n: #t))
        .collect();
    let own_setters = parts.fields.iter().filter_map(|f| f.setter.as_ref());
    let polling = matches!(op.kind, OperationKind::LongRunning { .. }).then(|| {
        quote! {
            /// Waits for the started operation on `policy` instead of the client's polling policy.
            pub fn with_polling_policy(mut self, policy: crate::PollingPolicy) -> Self {
                self.options.polling = Some(policy);
                self
            }
        }
    });
    let setters = quote! {
        #(#own_setters)*
        #polling

        /// Retries this call on `policy` instead of the client's retry policy.
        pub fn with_retry_policy(mut self, policy: impl RetryPolicy + 'static) -> Self {
            self.options.retry = Some(::std::sync::Arc::new(policy));
            self
        }

        /// Gives up after `timeout`, retries included, with [`Error::Timeout`].
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.options.timeout = Some(timeout);
            self
        }
    };
    let checks = &parts.checks;
    let prelude = &parts.prelude;
    let raw_args = &parts.raw_args;
    let method_doc: Vec<String> = method_doc(c, &parts).lines().map(|l| format!(" {l}")).collect();
    let builder_doc = if matches!(op.kind, OperationKind::List { .. }) {
        format!(
            " Request builder of [`Client::{}`]: set options, then stream its `items()` or `pages()`, or `.await` every item.",
            op.id
        )
    } else {
        format!(
            " Request builder of [`Client::{}`]: set options, then `.await` it (or call [`send`](Self::send)).",
            op.id
        )
    };
    let common = quote! {
        #[doc = #builder_doc]
        #[must_use = "a request builder does nothing until awaited"]
        #[derive(Debug)]
        pub struct #builder<'c> {
            client: &'c Client,
            options: CallOptions,
            #(#field_names: #field_tys,)*
        }

        impl Client {
            #(#[doc = #method_doc])*
            pub fn #method(&self, #(#args),*) -> #builder<'_> {
                #builder { client: self, options: CallOptions::default(), #(#inits,)* }
            }
        }
    };
    match &op.kind {
        OperationKind::List { item, page, .. } => {
            let item = ident(item);
            let page = ident(page);
            let page_name = page.to_string();
            quote! {
                #common

                impl<'c> #builder<'c> {
                    #setters

                    /// Largest number of items per page (the server may return fewer).
                    pub fn page_size(mut self, page_size: u32) -> Self {
                        self.page_size = Some(page_size);
                        self
                    }

                    /// Starts at this page token (a `next_page_token` from an earlier listing).
                    pub fn page_token(mut self, page_token: impl Into<String>) -> Self {
                        self.page_token = Some(page_token.into());
                        self
                    }

                    /// The lazy pager over this listing: nothing is sent until it is consumed.
                    pub fn pager(self) -> Pager<types::#item> {
                        let Self { client, options, #(#field_names,)* } = self;
                        let client = client.clone();
                        pager(page_size, page_token, move |page_size, page_token| {
                            let client = client.clone();
                            let options = options.clone();
                            #(let #captured = #captured.clone();)*
                            async move {
                                #(#checks)*
                                let page: types::#page = run_with(&options, #page_name, client.raw().#method(#(#raw_args),*)).await?;
                                Ok(page_of(page))
                            }
                        })
                    }

                    /// The items of every page, fetched lazily. See [`Pager::items`].
                    pub fn items(self) -> impl futures::Stream<Item = Result<types::#item, Error>> + Send + Unpin + 'static {
                        self.pager().items()
                    }

                    /// The pages, fetched lazily. See [`Pager::pages`].
                    pub fn pages(self) -> impl futures::Stream<Item = Result<ListPage<types::#item>, Error>> + Send + Unpin + 'static {
                        self.pager().pages()
                    }

                    /// All items of all pages (what `.await` on the builder gives).
                    pub async fn collect_all(self) -> Result<Vec<types::#item>, Error> {
                        self.pager().collect_all().await
                    }
                }

                impl<'c> ::std::future::IntoFuture for #builder<'c> {
                    type Output = Result<Vec<types::#item>, Error>;
                    type IntoFuture = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Self::Output> + Send + 'c>>;
                    fn into_future(self) -> Self::IntoFuture {
                        Box::pin(self.collect_all())
                    }
                }
            }
        }
        kind => {
            let (output, finish) = match kind {
                OperationKind::LongRunning { result, metadata } => {
                    let metadata = ident(metadata);
                    let result = match result {
                        Some(r) => {
                            let r = ident(r);
                            quote!(types::#r)
                        }
                        None => quote!(()),
                    };
                    (
                        quote!(Operation<#result, types::#metadata>),
                        quote! {
                            let op = run_with(&options, "Operation", client.raw().#method(#(#raw_args),*)).await?;
                            Ok(Operation::new(client.clone(), op)?.with_polling(options.polling))
                        },
                    )
                }
                _ => {
                    let success = op.success.clone().unwrap_or_default();
                    let ty = ident(&success);
                    (
                        quote!(types::#ty),
                        quote!(run_with(&options, #success, client.raw().#method(#(#raw_args),*)).await),
                    )
                }
            };
            let all_fields = &field_names;
            quote! {
                #common

                impl<'c> #builder<'c> {
                    #setters

                    /// Sends the request.
                    pub async fn send(self) -> Result<#output, Error> {
                        let Self { client, options, #(#all_fields,)* } = self;
                        #(#checks)*
                        #(#prelude)*
                        #finish
                    }
                }

                impl<'c> ::std::future::IntoFuture for #builder<'c> {
                    type Output = Result<#output, Error>;
                    type IntoFuture = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Self::Output> + Send + 'c>>;
                    fn into_future(self) -> Self::IntoFuture {
                        Box::pin(self.send())
                    }
                }
            }
        }
    }
}

fn is_copy(ty: &TokenStream) -> bool {
    ["Option < bool >", "Option < i32 >"].contains(&ty.to_string().as_str())
}

fn method_doc(c: &Call, parts: &Parts) -> String {
    let op = &c.op;
    let mut doc = op.summary.clone();
    if !op.description.is_empty() {
        doc.push_str("\n\n");
        doc.push_str(&op.description);
    }
    let shape = match &op.kind {
        OperationKind::List { item, .. } => format!(
            "\n\nReturns a list builder: stream it with `.items()` or `.pages()`, or `.await` it for every \
             [`{item}`](crate::types::{item})."
        ),
        OperationKind::LongRunning { result, .. } => format!(
            "\n\nReturns an [`Operation`] to `.wait()` on{}.",
            result
                .as_ref()
                .map(|r| format!(" for the [`{r}`](crate::types::{r})"))
                .unwrap_or_default()
        ),
        OperationKind::Call => String::new(),
    };
    doc.push_str(&shape);
    let call_args = parts
        .example_args
        .iter()
        .map(|t| t.to_string().replace("& ", "&"))
        .collect::<Vec<_>>()
        .join(", ");
    let finish = match &op.kind {
        OperationKind::List { .. } => ".page_size(50).collect_all().await?",
        OperationKind::LongRunning { .. } => ".await?.wait().await?",
        OperationKind::Call => ".await?",
    };
    let mut example =
        String::from("\n\n```no_run\n# async fn example(client: lakebase::Client) -> Result<(), lakebase::Error> {\n");
    for line in &parts.example_setup {
        example.push_str(line);
        example.push('\n');
    }
    example.push_str(&format!("let result = client.{}({call_args}){finish};\n", op.id));
    example.push_str("# let _ = result;\n# Ok(())\n# }\n```");
    doc.push_str(&example);
    doc
}
