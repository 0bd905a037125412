//! V8's sampling heap profile as it is stored: `{"head": node, "samples": [...]}`, or the
//! `{"profile": {...}}` reply of `HeapProfiler.stopSampling`.
//!
//! Every part reads from any JSON value: a field of the wrong type is kept as "not what was
//! expected" rather than failing the whole parse, so the walk over the tree can say which
//! node is wrong and how (the messages of [`super::ProfileError::BadNode`]). Only invalid
//! JSON fails here.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON value where a number or a string is expected; anything else is `Other`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) enum Scalar {
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    #[default]
    Other,
}

impl Scalar {
    /// As `serde_json::Value::as_i64`: integers that fit, nothing else.
    pub(super) fn as_i64(&self) -> Option<i64> {
        match *self {
            Scalar::Int(i) => Some(i),
            Scalar::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// As `serde_json::Value::as_u64`: non-negative integers, nothing else.
    pub(super) fn as_u64(&self) -> Option<u64> {
        match *self {
            Scalar::Int(i) => u64::try_from(i).ok(),
            Scalar::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// A string as it is, a number as JSON writes it (`scriptId` is a number in some
    /// files), anything else empty.
    pub(super) fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => serde_json::Number::from_f64(*f)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            Scalar::Other => String::new(),
        }
    }
}

/// Reads any value: a map through `on_map`, a sequence through `on_seq`, null through
/// `on_null`; whatever else is skipped and becomes `T::default()`.
trait Loose<'de>: Sized + Default {
    fn on_map<A: MapAccess<'de>>(_map: A) -> Result<Self, A::Error>;
    fn on_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
    fn on_null() -> Self {
        Self::default()
    }
    fn on_scalar(_s: Scalar) -> Self {
        Self::default()
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

struct LooseVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Loose<'de>> Visitor<'de> for LooseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::Other))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::UInt(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::on_scalar(Scalar::Str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::on_null())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::on_null())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::on_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::on_map(map)
    }
}

macro_rules! loose_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(LooseVisitor(std::marker::PhantomData))
            }
        }
    )*};
}

loose_deserialize!(Scalar, CallFrame, Node, Children, Doc, Samples, Sample);

impl<'de> Loose<'de> for Scalar {
    fn on_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        skip_map(map)?;
        Ok(Scalar::Other)
    }
    fn on_scalar(s: Scalar) -> Self {
        s
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum FrameField {
    FunctionName,
    Url,
    ScriptId,
    LineNumber,
    ColumnNumber,
    #[serde(other)]
    Other,
}

/// `callFrame`; line and column are 0-based, -1 for unknown.
#[derive(Debug, Default)]
pub(super) struct CallFrame {
    pub function_name: Scalar,
    pub url: Scalar,
    pub script_id: Scalar,
    pub line_number: Scalar,
    pub column_number: Scalar,
}

impl<'de> Loose<'de> for CallFrame {
    fn on_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut f = CallFrame::default();
        while let Some(k) = map.next_key::<FrameField>()? {
            let slot = match k {
                FrameField::FunctionName => &mut f.function_name,
                FrameField::Url => &mut f.url,
                FrameField::ScriptId => &mut f.script_id,
                FrameField::LineNumber => &mut f.line_number,
                FrameField::ColumnNumber => &mut f.column_number,
                FrameField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value()?;
        }
        Ok(f)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum NodeField {
    CallFrame,
    SelfSize,
    Id,
    Children,
    #[serde(other)]
    Other,
}

/// One node of the call tree. A node that is not a JSON object has nothing in it.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// `None` when the key is absent (a `null` frame is an empty one).
    /// Boxed: a node stays small on the stack, which deep trees descend through.
    pub call_frame: Option<Box<CallFrame>>,
    pub self_size: Scalar,
    pub id: Scalar,
    pub children: Children,
    pub is_object: bool,
}

impl<'de> Loose<'de> for Node {
    fn on_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut n = Node {
            is_object: true,
            ..Node::default()
        };
        while let Some(k) = map.next_key::<NodeField>()? {
            match k {
                NodeField::CallFrame => n.call_frame = Some(map.next_value()?),
                NodeField::SelfSize => n.self_size = map.next_value()?,
                NodeField::Id => n.id = map.next_value()?,
                NodeField::Children => n.children = map.next_value()?,
                NodeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(n)
    }
}

/// `children`: absent and `null` both mean none.
#[derive(Debug, Default)]
pub(super) enum Children {
    #[default]
    None,
    List(Vec<Node>),
    NotAnArray,
}

impl<'de> Loose<'de> for Children {
    fn on_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        skip_map(map)?;
        Ok(Children::NotAnArray)
    }
    fn on_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut kids = Vec::new();
        while let Some(k) = seq.next_element()? {
            kids.push(k);
        }
        Ok(Children::List(kids))
    }
    fn on_scalar(_: Scalar) -> Self {
        Children::NotAnArray
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DocField {
    Head,
    Profile,
    Samples,
    #[serde(other)]
    Other,
}

/// The file, or the CDP reply that wraps it in `profile`.
#[derive(Debug, Default)]
pub(super) struct Doc {
    /// `None` when the key is absent; a `head` of another type is a node that is not an
    /// object.
    pub head: Option<Node>,
    pub profile: Option<Box<Doc>>,
    pub samples: Samples,
}

impl<'de> Loose<'de> for Doc {
    fn on_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut d = Doc::default();
        while let Some(k) = map.next_key::<DocField>()? {
            match k {
                DocField::Head => d.head = Some(map.next_value()?),
                DocField::Profile => d.profile = Some(Box::new(map.next_value()?)),
                DocField::Samples => d.samples = map.next_value()?,
                DocField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(d)
    }
}

/// `samples`, when it is an array.
#[derive(Debug, Default)]
pub(super) struct Samples(pub Vec<Sample>);

impl<'de> Loose<'de> for Samples {
    fn on_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        skip_map(map)?;
        Ok(Samples::default())
    }
    fn on_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut out = Vec::new();
        while let Some(s) = seq.next_element()? {
            out.push(s);
        }
        Ok(Samples(out))
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum SampleField {
    Size,
    NodeId,
    #[serde(other)]
    Other,
}

/// One sampled allocation still alive: its size and the node it was allocated in.
#[derive(Debug, Default)]
pub(super) struct Sample {
    pub size: Scalar,
    pub node_id: Scalar,
}

impl<'de> Loose<'de> for Sample {
    fn on_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut s = Sample::default();
        while let Some(k) = map.next_key::<SampleField>()? {
            match k {
                SampleField::Size => s.size = map.next_value()?,
                SampleField::NodeId => s.node_id = map.next_value()?,
                SampleField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(s)
    }
}
