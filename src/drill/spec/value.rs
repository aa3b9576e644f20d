//! A number in an effect: a literal, or `Param("name")` filled in from the team's command.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A number in an effect: a literal, or `Param("name")` filled in from the team's command.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Literal(f64),
    Param(String),
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Literal(x) => serializer.serialize_f64(*x),
            Value::Param(name) => {
                serializer.serialize_newtype_variant("Value", 0, "Param", name.as_str())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or Param(\"name\") for an action's parameter")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Literal(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Literal(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Literal(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                // RON hands `Param("rps")` to a self-describing visitor as a one-element tuple.
                let name: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("Param needs a name: Param(\"rps\")"))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("Param takes one name: Param(\"rps\")"));
                }
                Ok(Value::Param(name))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}
