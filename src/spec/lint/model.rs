//! The OpenAPI 3.0 object model as data: for each object, its fields with their shapes, the
//! fields it requires, and the hook that checks what a table cannot say.
//!
//! `walk.rs` reads these tables to check required fields, field types and unknown fields
//! everywhere; the hooks live beside the rules they implement (`objects.rs`, `schemas.rs`).
//! Fields follow the OpenAPI 3.0.3 text; every object also accepts `x-` extensions.

use super::tree::{Node, Span};
use super::walk::Walker;
use super::{objects, schemas};

/// A check run on an object after its fields were walked: the node and where to report.
pub type Hook = for<'a> fn(&mut Walker<'a>, &'a Node, Span);

/// One kind of OpenAPI object.
pub struct Kind {
    /// As messages name it: "the Info object".
    pub name: &'static str,
    pub fields: &'static [(&'static str, Shape)],
    pub required: &'static [&'static str],
    /// For maps keyed by free names (Paths, Responses, Callback, Security Requirement): what
    /// every key that is not a field holds.
    pub entries: Option<Shape>,
    /// Whether `x-` keys are extensions (every object but the Security Requirement).
    pub extensions: bool,
    /// For objects whose fields depend on a discriminating field (a security scheme's
    /// `type`): the kind to check the node as, or `None` to check it as this one.
    pub select: Option<fn(&Node) -> Option<&'static Kind>>,
    pub hook: Option<Hook>,
}

/// The defaults the kinds below start from.
const OBJECT: Kind = Kind {
    name: "",
    fields: &[],
    required: &[],
    entries: None,
    extensions: true,
    select: None,
    hook: None,
};

impl Kind {
    pub fn field(&self, name: &str) -> Option<Shape> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, shape)| *shape)
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What a field holds.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Any,
    Str,
    Bool,
    Number,
    /// A non-negative integer (`maxLength`).
    Count,
    /// A number above zero (`multipleOf`).
    Positive,
    Obj(&'static Kind),
    /// A Reference Object or the object.
    RefOr(&'static Kind),
    /// A mapping from free names to elements.
    Map(Elem),
    List(Elem),
    /// Checked by hand: the function walks the node itself.
    Custom(Hook),
}

/// What a map or list holds.
#[derive(Clone, Copy, Debug)]
pub enum Elem {
    Any,
    Str,
    Obj(&'static Kind),
    RefOr(&'static Kind),
}

impl Elem {
    pub fn shape(self) -> Shape {
        match self {
            Elem::Any => Shape::Any,
            Elem::Str => Shape::Str,
            Elem::Obj(kind) => Shape::Obj(kind),
            Elem::RefOr(kind) => Shape::RefOr(kind),
        }
    }
}

const EXTERNAL_DOCS_FIELD: (&str, Shape) = ("externalDocs", Shape::Obj(&EXTERNAL_DOCS));

pub static OPENAPI: Kind = Kind {
    name: "the OpenAPI object",
    fields: &[
        ("openapi", Shape::Str),
        ("info", Shape::Obj(&INFO)),
        ("servers", Shape::List(Elem::Obj(&SERVER))),
        ("paths", Shape::Obj(&PATHS)),
        ("components", Shape::Obj(&COMPONENTS)),
        ("security", Shape::List(Elem::Obj(&SECURITY_REQUIREMENT))),
        ("tags", Shape::List(Elem::Obj(&TAG))),
        EXTERNAL_DOCS_FIELD,
    ],
    required: &["openapi", "info", "paths"],
    hook: Some(objects::document),
    ..OBJECT
};

pub static INFO: Kind = Kind {
    name: "the Info object",
    fields: &[
        ("title", Shape::Str),
        ("description", Shape::Str),
        ("termsOfService", Shape::Str),
        ("contact", Shape::Obj(&CONTACT)),
        ("license", Shape::Obj(&LICENSE)),
        ("version", Shape::Str),
    ],
    required: &["title", "version"],
    hook: None,
    ..OBJECT
};

pub static CONTACT: Kind = Kind {
    name: "the Contact object",
    fields: &[
        ("name", Shape::Str),
        ("url", Shape::Str),
        ("email", Shape::Str),
    ],
    required: &[],
    hook: None,
    ..OBJECT
};

pub static LICENSE: Kind = Kind {
    name: "the License object",
    fields: &[("name", Shape::Str), ("url", Shape::Str)],
    required: &["name"],
    hook: None,
    ..OBJECT
};

pub static SERVER: Kind = Kind {
    name: "a Server object",
    fields: &[
        ("url", Shape::Str),
        ("description", Shape::Str),
        ("variables", Shape::Map(Elem::Obj(&SERVER_VARIABLE))),
    ],
    required: &["url"],
    hook: Some(objects::server),
    ..OBJECT
};

pub static SERVER_VARIABLE: Kind = Kind {
    name: "a Server Variable object",
    fields: &[
        ("enum", Shape::List(Elem::Str)),
        ("default", Shape::Str),
        ("description", Shape::Str),
    ],
    required: &["default"],
    hook: None,
    ..OBJECT
};

pub static COMPONENTS: Kind = Kind {
    name: "the Components object",
    fields: &[
        ("schemas", Shape::Map(Elem::RefOr(&SCHEMA))),
        ("responses", Shape::Map(Elem::RefOr(&RESPONSE))),
        ("parameters", Shape::Map(Elem::RefOr(&PARAMETER))),
        ("examples", Shape::Map(Elem::RefOr(&EXAMPLE))),
        ("requestBodies", Shape::Map(Elem::RefOr(&REQUEST_BODY))),
        ("headers", Shape::Map(Elem::RefOr(&HEADER))),
        ("securitySchemes", Shape::Map(Elem::RefOr(&SECURITY_SCHEME))),
        ("links", Shape::Map(Elem::RefOr(&LINK))),
        ("callbacks", Shape::Map(Elem::RefOr(&CALLBACK))),
    ],
    required: &[],
    hook: Some(objects::components),
    ..OBJECT
};

/// The kind each `components` section holds, for checking where a `$ref` lands.
pub fn component_kind(section: &str) -> Option<&'static Kind> {
    match COMPONENTS.field(section)? {
        Shape::Map(Elem::RefOr(kind)) => Some(kind),
        _ => None,
    }
}

pub static PATH_ITEM: Kind = Kind {
    name: "a Path Item object",
    fields: &[
        ("$ref", Shape::Str),
        ("summary", Shape::Str),
        ("description", Shape::Str),
        ("get", Shape::Obj(&OPERATION)),
        ("put", Shape::Obj(&OPERATION)),
        ("post", Shape::Obj(&OPERATION)),
        ("delete", Shape::Obj(&OPERATION)),
        ("options", Shape::Obj(&OPERATION)),
        ("head", Shape::Obj(&OPERATION)),
        ("patch", Shape::Obj(&OPERATION)),
        ("trace", Shape::Obj(&OPERATION)),
        ("servers", Shape::List(Elem::Obj(&SERVER))),
        ("parameters", Shape::List(Elem::RefOr(&PARAMETER))),
    ],
    required: &[],
    hook: Some(objects::path_item),
    ..OBJECT
};

/// The HTTP methods a Path Item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub static OPERATION: Kind = Kind {
    name: "an Operation object",
    fields: &[
        ("tags", Shape::List(Elem::Str)),
        ("summary", Shape::Str),
        ("description", Shape::Str),
        EXTERNAL_DOCS_FIELD,
        ("operationId", Shape::Str),
        ("parameters", Shape::List(Elem::RefOr(&PARAMETER))),
        ("requestBody", Shape::RefOr(&REQUEST_BODY)),
        ("responses", Shape::Obj(&RESPONSES)),
        ("callbacks", Shape::Map(Elem::RefOr(&CALLBACK))),
        ("deprecated", Shape::Bool),
        ("security", Shape::List(Elem::Obj(&SECURITY_REQUIREMENT))),
        ("servers", Shape::List(Elem::Obj(&SERVER))),
    ],
    required: &["responses"],
    hook: None,
    ..OBJECT
};

pub static EXTERNAL_DOCS: Kind = Kind {
    name: "an External Documentation object",
    fields: &[("description", Shape::Str), ("url", Shape::Str)],
    required: &["url"],
    hook: None,
    ..OBJECT
};

pub static PARAMETER: Kind = Kind {
    name: "a Parameter object",
    fields: &[
        ("name", Shape::Str),
        ("in", Shape::Str),
        ("description", Shape::Str),
        ("required", Shape::Bool),
        ("deprecated", Shape::Bool),
        ("allowEmptyValue", Shape::Bool),
        ("style", Shape::Str),
        ("explode", Shape::Bool),
        ("allowReserved", Shape::Bool),
        ("schema", Shape::RefOr(&SCHEMA)),
        ("example", Shape::Any),
        ("examples", Shape::Map(Elem::RefOr(&EXAMPLE))),
        ("content", Shape::Map(Elem::Obj(&MEDIA_TYPE))),
    ],
    required: &["name", "in"],
    hook: Some(objects::parameter),
    ..OBJECT
};

pub static HEADER: Kind = Kind {
    name: "a Header object",
    fields: &[
        ("description", Shape::Str),
        ("required", Shape::Bool),
        ("deprecated", Shape::Bool),
        ("allowEmptyValue", Shape::Bool),
        ("style", Shape::Str),
        ("explode", Shape::Bool),
        ("allowReserved", Shape::Bool),
        ("schema", Shape::RefOr(&SCHEMA)),
        ("example", Shape::Any),
        ("examples", Shape::Map(Elem::RefOr(&EXAMPLE))),
        ("content", Shape::Map(Elem::Obj(&MEDIA_TYPE))),
    ],
    required: &[],
    hook: Some(objects::header),
    ..OBJECT
};

pub static REQUEST_BODY: Kind = Kind {
    name: "a Request Body object",
    fields: &[
        ("description", Shape::Str),
        ("content", Shape::Map(Elem::Obj(&MEDIA_TYPE))),
        ("required", Shape::Bool),
    ],
    // `content` is required too; `request-body-empty` says so with its own rule id.
    required: &[],
    hook: Some(objects::request_body),
    ..OBJECT
};

pub static MEDIA_TYPE: Kind = Kind {
    name: "a Media Type object",
    fields: &[
        ("schema", Shape::RefOr(&SCHEMA)),
        ("example", Shape::Any),
        ("examples", Shape::Map(Elem::RefOr(&EXAMPLE))),
        ("encoding", Shape::Map(Elem::Obj(&ENCODING))),
    ],
    required: &[],
    hook: Some(objects::media_type),
    ..OBJECT
};

pub static ENCODING: Kind = Kind {
    name: "an Encoding object",
    fields: &[
        ("contentType", Shape::Str),
        ("headers", Shape::Map(Elem::RefOr(&HEADER))),
        ("style", Shape::Str),
        ("explode", Shape::Bool),
        ("allowReserved", Shape::Bool),
    ],
    required: &[],
    hook: None,
    ..OBJECT
};

pub static RESPONSE: Kind = Kind {
    name: "a Response object",
    fields: &[
        ("description", Shape::Str),
        ("headers", Shape::Map(Elem::RefOr(&HEADER))),
        ("content", Shape::Map(Elem::Obj(&MEDIA_TYPE))),
        ("links", Shape::Map(Elem::RefOr(&LINK))),
    ],
    required: &["description"],
    hook: None,
    ..OBJECT
};

/// A Callback: runtime expressions to Path Items.
pub static CALLBACK: Kind = Kind {
    name: "a Callback object",
    entries: Some(Shape::Obj(&PATH_ITEM)),
    ..OBJECT
};

/// Paths: templates (`/users/{id}`) to Path Items.
pub static PATHS: Kind = Kind {
    name: "the Paths object",
    entries: Some(Shape::Obj(&PATH_ITEM)),
    hook: Some(objects::paths),
    ..OBJECT
};

/// Responses: status codes, ranges (`4XX`) and `default` to Responses.
pub static RESPONSES: Kind = Kind {
    name: "a Responses object",
    entries: Some(Shape::RefOr(&RESPONSE)),
    hook: Some(objects::responses),
    ..OBJECT
};

pub static EXAMPLE: Kind = Kind {
    name: "an Example object",
    fields: &[
        ("summary", Shape::Str),
        ("description", Shape::Str),
        ("value", Shape::Any),
        ("externalValue", Shape::Str),
    ],
    required: &[],
    hook: Some(objects::example),
    ..OBJECT
};

pub static LINK: Kind = Kind {
    name: "a Link object",
    fields: &[
        ("operationRef", Shape::Str),
        ("operationId", Shape::Str),
        ("parameters", Shape::Map(Elem::Any)),
        ("requestBody", Shape::Any),
        ("description", Shape::Str),
        ("server", Shape::Obj(&SERVER)),
    ],
    required: &[],
    hook: Some(objects::link),
    ..OBJECT
};

pub static TAG: Kind = Kind {
    name: "a Tag object",
    fields: &[
        ("name", Shape::Str),
        ("description", Shape::Str),
        EXTERNAL_DOCS_FIELD,
    ],
    required: &["name"],
    hook: None,
    ..OBJECT
};

pub static SCHEMA: Kind = Kind {
    name: "a Schema object",
    fields: &[
        ("title", Shape::Str),
        ("multipleOf", Shape::Positive),
        ("maximum", Shape::Number),
        ("exclusiveMaximum", Shape::Bool),
        ("minimum", Shape::Number),
        ("exclusiveMinimum", Shape::Bool),
        ("maxLength", Shape::Count),
        ("minLength", Shape::Count),
        ("pattern", Shape::Str),
        ("maxItems", Shape::Count),
        ("minItems", Shape::Count),
        ("uniqueItems", Shape::Bool),
        ("maxProperties", Shape::Count),
        ("minProperties", Shape::Count),
        ("required", Shape::List(Elem::Str)),
        ("enum", Shape::List(Elem::Any)),
        ("type", Shape::Custom(schemas::type_field)),
        ("allOf", Shape::List(Elem::RefOr(&SCHEMA))),
        ("oneOf", Shape::List(Elem::RefOr(&SCHEMA))),
        ("anyOf", Shape::List(Elem::RefOr(&SCHEMA))),
        ("not", Shape::RefOr(&SCHEMA)),
        ("items", Shape::RefOr(&SCHEMA)),
        ("properties", Shape::Map(Elem::RefOr(&SCHEMA))),
        (
            "additionalProperties",
            Shape::Custom(schemas::additional_properties),
        ),
        ("description", Shape::Str),
        ("format", Shape::Str),
        ("default", Shape::Any),
        ("nullable", Shape::Bool),
        ("discriminator", Shape::Obj(&DISCRIMINATOR)),
        ("readOnly", Shape::Bool),
        ("writeOnly", Shape::Bool),
        ("xml", Shape::Obj(&XML)),
        EXTERNAL_DOCS_FIELD,
        ("example", Shape::Any),
        ("deprecated", Shape::Bool),
    ],
    required: &[],
    hook: Some(schemas::schema),
    ..OBJECT
};

pub static DISCRIMINATOR: Kind = Kind {
    name: "a Discriminator object",
    fields: &[
        ("propertyName", Shape::Str),
        ("mapping", Shape::Map(Elem::Str)),
    ],
    required: &["propertyName"],
    hook: Some(schemas::discriminator),
    ..OBJECT
};

pub static XML: Kind = Kind {
    name: "an XML object",
    fields: &[
        ("name", Shape::Str),
        ("namespace", Shape::Str),
        ("prefix", Shape::Str),
        ("attribute", Shape::Bool),
        ("wrapped", Shape::Bool),
    ],
    required: &[],
    hook: None,
    ..OBJECT
};

/// Any security scheme: `objects::security_scheme` picks the kind its `type` names.
pub static SECURITY_SCHEME: Kind = Kind {
    name: "a Security Scheme object",
    fields: &[
        ("type", Shape::Str),
        ("description", Shape::Str),
        ("name", Shape::Str),
        ("in", Shape::Str),
        ("scheme", Shape::Str),
        ("bearerFormat", Shape::Str),
        ("flows", Shape::Obj(&OAUTH_FLOWS)),
        ("openIdConnectUrl", Shape::Str),
    ],
    required: &["type"],
    select: Some(objects::scheme_kind),
    hook: Some(objects::security_scheme),
    ..OBJECT
};

pub static API_KEY_SCHEME: Kind = Kind {
    name: "an apiKey security scheme",
    fields: &[
        ("type", Shape::Str),
        ("description", Shape::Str),
        ("name", Shape::Str),
        ("in", Shape::Str),
    ],
    required: &["name", "in"],
    hook: Some(objects::api_key_scheme),
    ..OBJECT
};

pub static HTTP_SCHEME: Kind = Kind {
    name: "an http security scheme",
    fields: &[
        ("type", Shape::Str),
        ("description", Shape::Str),
        ("scheme", Shape::Str),
        ("bearerFormat", Shape::Str),
    ],
    required: &["scheme"],
    hook: None,
    ..OBJECT
};

pub static OAUTH2_SCHEME: Kind = Kind {
    name: "an oauth2 security scheme",
    fields: &[
        ("type", Shape::Str),
        ("description", Shape::Str),
        ("flows", Shape::Obj(&OAUTH_FLOWS)),
    ],
    required: &["flows"],
    hook: None,
    ..OBJECT
};

pub static OPEN_ID_CONNECT_SCHEME: Kind = Kind {
    name: "an openIdConnect security scheme",
    fields: &[
        ("type", Shape::Str),
        ("description", Shape::Str),
        ("openIdConnectUrl", Shape::Str),
    ],
    required: &["openIdConnectUrl"],
    hook: None,
    ..OBJECT
};

pub static OAUTH_FLOWS: Kind = Kind {
    name: "an OAuth Flows object",
    fields: &[
        ("implicit", Shape::Obj(&IMPLICIT_FLOW)),
        ("password", Shape::Obj(&PASSWORD_FLOW)),
        ("clientCredentials", Shape::Obj(&CLIENT_CREDENTIALS_FLOW)),
        ("authorizationCode", Shape::Obj(&AUTHORIZATION_CODE_FLOW)),
    ],
    required: &[],
    hook: None,
    ..OBJECT
};

/// The flows and the URLs each needs (`oauth-flow-url-missing`).
pub const FLOW_URLS: [(&str, &[&str]); 4] = [
    ("implicit", &["authorizationUrl"]),
    ("password", &["tokenUrl"]),
    ("clientCredentials", &["tokenUrl"]),
    ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
];

pub static IMPLICIT_FLOW: Kind = Kind {
    name: "an implicit OAuth flow",
    fields: &[
        ("authorizationUrl", Shape::Str),
        ("refreshUrl", Shape::Str),
        ("scopes", Shape::Map(Elem::Str)),
    ],
    required: &["scopes"],
    hook: Some(objects::oauth_flow),
    ..OBJECT
};

pub static PASSWORD_FLOW: Kind = Kind {
    name: "a password OAuth flow",
    fields: &[
        ("tokenUrl", Shape::Str),
        ("refreshUrl", Shape::Str),
        ("scopes", Shape::Map(Elem::Str)),
    ],
    required: &["scopes"],
    hook: Some(objects::oauth_flow),
    ..OBJECT
};

pub static CLIENT_CREDENTIALS_FLOW: Kind = Kind {
    name: "a clientCredentials OAuth flow",
    fields: &[
        ("tokenUrl", Shape::Str),
        ("refreshUrl", Shape::Str),
        ("scopes", Shape::Map(Elem::Str)),
    ],
    required: &["scopes"],
    hook: Some(objects::oauth_flow),
    ..OBJECT
};

pub static AUTHORIZATION_CODE_FLOW: Kind = Kind {
    name: "an authorizationCode OAuth flow",
    fields: &[
        ("authorizationUrl", Shape::Str),
        ("tokenUrl", Shape::Str),
        ("refreshUrl", Shape::Str),
        ("scopes", Shape::Map(Elem::Str)),
    ],
    required: &["scopes"],
    hook: Some(objects::oauth_flow),
    ..OBJECT
};

/// Scheme names to lists of scopes; checked against the schemes by `security.rs`.
pub static SECURITY_REQUIREMENT: Kind = Kind {
    name: "a Security Requirement object",
    entries: Some(Shape::List(Elem::Str)),
    extensions: false,
    hook: Some(objects::security_requirement),
    ..OBJECT
};
