//! The deviations the reference server can be told to make.
//!
//! Each variant switches on exactly one departure from the contract, so that a test can show the
//! matching check catches it. This file only names and documents them; `routes.rs` acts on them.
//! The `///` lines double as `specgate serve --fault` help text, so they say what a client sees.

use std::fmt;

use clap::ValueEnum;

/// One deviation from the contract, switched on with `specgate serve --fault NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Fault {
    /// Body validation errors answer 422, a status the operation does not document, instead of 400.
    UndocumentedStatus,
    /// Field errors nest two levels deep and the innermost Error lacks the required error_code.
    DeepErrorMissingCode,
    /// A token without the `user` scope may still change its user's password.
    ScopeNotEnforced,
    /// Requests with no token or an unknown token act as the first user of the fixture.
    NoAuth,
    /// A user's token may change another user's password.
    OtherUserChangeable,
    /// A wrong current_password is accepted.
    WrongPasswordAccepted,
    /// A successful change answers 200 but the new password is not stored.
    ChangeNotPersisted,
    /// A body whose only problem is a missing or non-string new_password answers 200 (and changes nothing).
    InvalidBodyAccepted,
    /// A new_password with any non-ASCII character answers 500.
    ServerErrorOnUnicode,
    /// A new_password longer than 64 characters answers 500.
    ServerErrorOnLong,
    /// 401 responses carry an error_code outside the documented enum.
    WrongErrorCode,
    /// The Error for several field problems has `details` as an object instead of an array.
    DetailsNotArray,
    /// 400 errors are sent with Content-Type text/plain (the body is still the JSON text).
    TextPlainErrors,
    /// A successful change answers 200 with a JSON body although the operation documents none.
    #[value(name = "body-on-200")]
    BodyOn200,
    /// The 400 for a wrong current password echoes the submitted password in error_message.
    SecretEcho,
    /// A body that is not valid JSON never gets an answer (the client has to time out).
    Hang,
    /// After a change, the old password keeps working beside the new one.
    OldPasswordStillWorks,
    /// A token without the `user` scope is refused with 403, but the change is applied anyway.
    ChangeDespiteRefusal,
    /// A missing field is reported as VALUE_INCORRECT_TYPE, without naming the property.
    WrongErrorSemantics,
    /// A new_password shorter than 8 characters or containing a space is refused with 403,
    /// although the token may change it.
    ValidRefused,
    /// A wrong current password is refused with 403 instead of 400, and names no property.
    WrongPasswordForbidden,
    /// Every third request is answered 429 with `Retry-After: 0` and an Error MAX_LOAD: not a
    /// conformance fault, a busy server that a run must wait out.
    Throttle,
}

impl Fault {
    /// Every fault, in declaration order.
    pub fn all() -> &'static [Fault] {
        Fault::value_variants()
    }
}

/// The kebab-case name the command line accepts, so reports and `--fault` agree.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_possible_value() {
            Some(value) => f.write_str(value.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}
