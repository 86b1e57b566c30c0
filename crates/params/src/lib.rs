//! The sweep's parameter columns — their names, types and values — shared by the
//! scenario crate, which expands a sweep into points, and the report crate, which
//! writes one typed column per parameter. Plain data with no dependencies, so neither
//! crate depends on the other.
#![deny(missing_docs)]

/// The type of a parameter column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Every value is an integer.
    Int,
    /// Every value is a number.
    Float,
    /// Every value is `true` or `false`.
    Bool,
    /// Anything else, as text (sections by their `kind` and the fields that tell them
    /// apart).
    Text,
}

/// One value of a parameter column.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// Text, or a label of a section.
    Text(String),
    /// No value: the point removes the section or field (`policy: null`). A null in
    /// the column; `none` in labels.
    Null,
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Text(v) => f.write_str(v),
            ParamValue::Null => f.write_str("none"),
        }
    }
}

/// A column of parameters: what a sweep varies.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamColumn {
    /// Column name in the results (`policy_decider_target`, or `variant`).
    pub name: String,
    /// The field path as written (`policy.decider.target`), or `variant`.
    pub path: String,
    /// The column's type.
    pub kind: ParamKind,
}
