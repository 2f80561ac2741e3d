//! One recorded event as the evaluator sees it: a flat list of named values with the names users
//! write in rules.
//!
//! Windows events (the `evtx_dump` JSON shape, `{"Event": {"System": …, "EventData": …}}`) get
//! the short names Sigma rules use: every `EventData`/`UserData` item under its own name
//! (`Image`), and `EventID`, `Channel`, `Computer`, `Provider_Name`… from `System`. Winlogbeat
//! and ECS events (`winlog.event_data.Image`) get the same short names. Every value is also
//! reachable by its dotted path (`Event.EventData.Image`, `process.executable`), attribute
//! levels (`#attributes`, `#text`) left out. Field names are compared case-insensitively.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value as Json;

use super::hash::FastHash;

/// What kind of value an event field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string.
    String,
    /// A JSON number.
    Number,
    /// A JSON boolean.
    Bool,
    /// JSON `null`.
    Null,
}

/// One value of an event field, with the forms matching needs computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    /// The value as text (numbers as JSON writes them, `null` as the empty string).
    pub text: Box<str>,
    /// The lowercase text when it differs from `text`.
    lower: Option<Box<str>>,
    /// The value as a number, if it is one or is text that reads as one.
    pub number: Option<f64>,
    /// The kind of the value in the event.
    pub kind: ValueKind,
}

impl FieldValue {
    /// A string value.
    pub fn string(text: &str) -> Self {
        // Most values (numbers, lowercase paths) have no capital: no lowercase copy to make.
        // ASCII text (nearly all) lowercases byte by byte, and differs once it has a capital.
        let lower = if text.is_ascii() {
            text.bytes()
                .any(|b| b.is_ascii_uppercase())
                .then(|| text.to_ascii_lowercase())
        } else {
            Some(text.to_lowercase()).filter(|lower| lower != text)
        };
        let number = parse_number_text(text);
        FieldValue {
            lower: lower.map(String::into_boxed_str),
            text: text.into(),
            number,
            kind: ValueKind::String,
        }
    }

    /// A number value.
    pub fn number(number: &serde_json::Number) -> Self {
        FieldValue {
            text: number.to_string().into_boxed_str(),
            lower: None,
            number: number.as_f64(),
            kind: ValueKind::Number,
        }
    }

    /// A boolean value.
    pub fn bool(b: bool) -> Self {
        FieldValue {
            text: if b { "true" } else { "false" }.into(),
            lower: None,
            number: None,
            kind: ValueKind::Bool,
        }
    }

    /// The null value.
    pub fn null() -> Self {
        FieldValue {
            text: "".into(),
            lower: None,
            number: None,
            kind: ValueKind::Null,
        }
    }

    /// The text, lowercased.
    pub fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.text)
    }

    /// Whether the value counts as null for `field: null` (JSON null or the empty string).
    pub fn is_null(&self) -> bool {
        self.kind == ValueKind::Null || self.text.is_empty()
    }
}

/// Text that is a plain decimal number (as Windows writes `ProcessId` or `DestinationPort`);
/// hexadecimal and other forms stay text.
fn parse_number_text(text: &str) -> Option<f64> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty()
        || digits.len() > 20
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    t.parse().ok()
}

/// A named value of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventField {
    /// The name as the event spells it (a short name or a dotted path); shared by the events
    /// of a thread that use it (see [`Names`]).
    pub name: Arc<str>,
    /// The value.
    pub value: FieldValue,
}

/// One event: its fields, in the order they were found, and its time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// The fields; a name can repeat when the event holds a list of values.
    pub fields: Vec<EventField>,
    /// The event's time in milliseconds since 1970, when it has one that could be read.
    pub timestamp: Option<i64>,
}

/// The `System` items whose short names Sigma rules use, beside the `EventData` items.
const SYSTEM_SHORT_NAMES: [&str; 9] = [
    "EventID",
    "Channel",
    "Computer",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "EventRecordID",
    "Version",
];

/// Winlogbeat's names of the `System` items, and the Windows names rules use for them.
const WINLOG_SHORT_NAMES: [(&str, &str); 6] = [
    ("event_id", "EventID"),
    ("channel", "Channel"),
    ("computer_name", "Computer"),
    ("provider_name", "Provider_Name"),
    ("record_id", "EventRecordID"),
    ("provider_guid", "Provider_Guid"),
];

impl Event {
    /// Builds an event from a JSON object in any of the shapes the readers accept.
    pub fn from_json(value: &Json) -> Event {
        let mut event = Event::default();
        if let Some(windows) = value.get("Event").filter(|e| e.is_object()) {
            event.add_windows(windows);
            if let Some(object) = value.as_object() {
                // Anything beside `Event` (rare) keeps its own dotted paths.
                for (key, child) in object.iter().filter(|(k, _)| k.as_str() != "Event") {
                    event.flatten(key, child);
                }
            }
        } else if let Some(winlog) = value.get("winlog").filter(|w| w.is_object()) {
            for short in ["event_data", "user_data"] {
                if let Some(Json::Object(data)) = winlog.get(short) {
                    for (key, child) in data {
                        event.flatten(key, child);
                    }
                }
            }
            for (winlog_name, name) in WINLOG_SHORT_NAMES {
                if let Some(child) = winlog.get(winlog_name) {
                    event.flatten(name, child);
                }
            }
            if let Some(code) = value.pointer("/event/code") {
                event.flatten("EventID", code);
            }
            event.flatten_root(value);
        } else {
            event.flatten_root(value);
        }
        event.timestamp = event.find_timestamp();
        event
    }

    /// Builds an event from the bytes of one JSON object, as [`Event::from_json`] does from
    /// its parsed value, without building that value first for the common shapes (flat or
    /// nested JSON, and `evtx_dump`'s `{"Event": …}`, whose `Event` member alone is parsed as
    /// a value). A Winlogbeat document, which needs the whole tree, is parsed as a value. A
    /// key repeated in one object keeps every value (a parsed value keeps the last).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Event, serde_json::Error> {
        // Text checked for UTF-8 once, as a whole, is not checked again string by string; text
        // that is not UTF-8 is read as bytes, for the error (and its position) to say so.
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::stream(serde_json::Deserializer::from_str(text), bytes),
            Err(_) => Self::stream(serde_json::Deserializer::from_slice(bytes), bytes),
        }
    }

    /// [`Event::from_json_slice`] with the deserializer of its bytes.
    fn stream<'de, R: serde_json::de::Read<'de>>(
        mut deserializer: serde_json::Deserializer<R>,
        bytes: &[u8],
    ) -> Result<Event, serde_json::Error> {
        let mut builder = Builder::for_next_event();
        let streamed = serde::de::DeserializeSeed::deserialize(
            Root {
                builder: &mut builder,
            },
            &mut deserializer,
        )
        .and_then(|()| deserializer.end());
        match streamed {
            Ok(()) => Ok(builder.finish()),
            Err(e) if builder.needs_tree => {
                drop(e);
                serde_json::from_slice::<Json>(bytes).map(|v| Event::from_json(&v))
            }
            Err(e) => Err(e),
        }
    }

    /// The event of the JSON object at the start of `text` and the length of that object,
    /// as [`Event::from_json_slice`] reads it, when the object is whole in `text` and reads
    /// without an error as one of the common shapes; `None` otherwise (the caller then finds
    /// the object's end itself and reads it with [`Event::from_json_slice`], which reports
    /// errors and reads the other shapes). Reading an object where it lies, without finding
    /// its end first, reads each byte of it once.
    pub fn from_json_prefix(text: &str) -> Option<(Event, usize)> {
        let mut events = serde_json::Deserializer::from_str(text).into_iter::<Prefixed>();
        match events.next() {
            Some(Ok(Prefixed(Some(event)))) => Some((event, events.byte_offset())),
            _ => None,
        }
    }

    fn add_windows(&mut self, windows: &Json) {
        for data in ["EventData", "UserData"] {
            if let Some(Json::Object(items)) = windows.get(data) {
                for (key, child) in items {
                    if key == "#attributes" {
                        continue;
                    }
                    if data == "UserData" {
                        // UserData holds one element named after the event, its items inside.
                        if let Json::Object(inner) = child {
                            for (k, v) in inner.iter().filter(|(k, _)| k.as_str() != "#attributes")
                            {
                                self.flatten(k, v);
                            }
                            continue;
                        }
                    }
                    self.flatten(key, child);
                }
            }
        }
        if let Some(system) = windows.get("System") {
            for name in SYSTEM_SHORT_NAMES {
                if let Some(child) = system.get(name) {
                    self.flatten(name, child);
                }
            }
            if let Some(Json::Object(attributes)) = system.pointer("/Provider/#attributes") {
                for (key, child) in attributes {
                    self.flatten(&format!("Provider_{key}"), child);
                }
            }
        }
        self.flatten("Event", windows);
    }

    fn flatten_root(&mut self, value: &Json) {
        match value {
            Json::Object(object) => {
                for (key, child) in object {
                    self.flatten(key, child);
                }
            }
            other => self.push("", other),
        }
    }

    /// Adds `value` under `path`, objects descended with dotted names, lists of scalars as
    /// repeated values.
    fn flatten(&mut self, path: &str, value: &Json) {
        match value {
            Json::Object(object) => {
                for (key, child) in object {
                    if key == "#attributes" || key == "#text" {
                        self.flatten(path, child);
                    } else if path.is_empty() {
                        self.flatten(key, child);
                    } else {
                        self.flatten(&format!("{path}.{key}"), child);
                    }
                }
            }
            Json::Array(items) => {
                for item in items {
                    self.flatten(path, item);
                }
            }
            scalar => self.push(path, scalar),
        }
    }

    fn push(&mut self, path: &str, scalar: &Json) {
        let value = match scalar {
            Json::String(s) => FieldValue::string(s),
            Json::Number(n) => FieldValue::number(n),
            Json::Bool(b) => FieldValue::bool(*b),
            _ => FieldValue::null(),
        };
        let name = NAMES.with(|names| names.borrow_mut().name(self.fields.len(), path));
        self.fields.push(EventField { name, value });
    }

    /// The first value of the field called `name` (case-insensitively), for display.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &f.value)
    }

    fn find_timestamp(&self) -> Option<i64> {
        const NAMES: [&str; 6] = [
            "Event.System.TimeCreated.SystemTime",
            "@timestamp",
            "timestamp",
            "UtcTime",
            "time",
            "TimeCreated",
        ];
        NAMES
            .iter()
            .filter_map(|name| self.get(name))
            .find_map(|value| match value.kind {
                ValueKind::Number => value.number.map(|n| {
                    // Seconds or milliseconds since 1970, told apart by size.
                    if n.abs() < 1e11 {
                        (n * 1000.0) as i64
                    } else {
                        n as i64
                    }
                }),
                _ => parse_timestamp(&value.text),
            })
    }
}

/// Reads `YYYY-MM-DD[T ]HH:MM:SS[.fff…][Z|±HH:MM]` as milliseconds since 1970 (UTC).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut millis = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        let fraction = &b[start..at];
        for (i, digit) in fraction.iter().take(3).enumerate() {
            millis += i64::from(digit - b'0') * [100, 10, 1][i];
        }
    }
    let offset_minutes = match b.get(at) {
        Some(b'+' | b'-') => {
            let sign = if b[at] == b'-' { -1 } else { 1 };
            let hours = num(at + 1..at + 3)?;
            let minutes = match b.get(at + 3) {
                Some(b':') => num(at + 4..at + 6)?,
                _ => num(at + 3..at + 5).unwrap_or(0),
            };
            sign * (hours * 60 + minutes)
        }
        _ => 0,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar parts of a time in milliseconds since 1970: (year, month, day, hour, minute,
/// ISO week).
pub fn civil_parts(millis: i64) -> (i64, i64, i64, i64, i64, i64) {
    let seconds = millis.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // ISO week: the week (Monday first) holding this date's Thursday.
    let weekday = (days + 3).rem_euclid(7); // 0 = Monday
    let thursday = days - weekday + 3;
    let (thursday_year, _, _, _, _, _) = if thursday == days {
        (year, 0, 0, 0, 0, 0)
    } else {
        civil_parts_year_only(thursday)
    };
    let week = (thursday - days_from_civil(thursday_year, 1, 1)) / 7 + 1;
    (year, month, day, rest / 3600, (rest % 3600) / 60, week)
}

fn civil_parts_year_only(days: i64) -> (i64, i64, i64, i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), 0, 0, 0, 0, 0)
}

/// What streaming one JSON object into an event collects.
#[derive(Default)]
struct Builder {
    /// The fields of everything but an `evtx_dump` `Event` member, in document order.
    event: Event,
    /// The `Event` member of an `evtx_dump` object.
    windows: Option<Json>,
    /// Set when the document is a Winlogbeat one: streaming stops, the caller parses a tree.
    needs_tree: bool,
    /// The dotted name of the value being read.
    path: String,
    /// The key being read.
    key: String,
}

impl Builder {
    /// A builder with room for as many fields as the last event of this thread had: events
    /// of a file are alike.
    fn for_next_event() -> Builder {
        let mut builder = Builder::default();
        let fields = NAMES.with(|names| names.borrow().last_count);
        builder.event.fields.reserve(fields);
        builder
    }

    /// The event of a document streamed whole.
    fn finish(mut self) -> Event {
        let mut event = Event::default();
        if let Some(windows) = &self.windows {
            event.add_windows(windows);
        }
        if event.fields.is_empty() {
            event.fields = self.event.fields;
        } else {
            event.fields.append(&mut self.event.fields);
        }
        event.timestamp = event.find_timestamp();
        NAMES.with(|names| names.borrow_mut().last_count = event.fields.len());
        event
    }
}

/// An event streamed from the start of a longer text ([`Event::from_json_prefix`]); `None`
/// for a Winlogbeat document, which is read from a tree.
struct Prefixed(Option<Event>);

impl<'de> serde::Deserialize<'de> for Prefixed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut builder = Builder::for_next_event();
        let streamed = serde::de::DeserializeSeed::deserialize(
            Root {
                builder: &mut builder,
            },
            deserializer,
        );
        match streamed {
            Ok(()) => Ok(Prefixed(Some(builder.finish()))),
            Err(_) if builder.needs_tree => Ok(Prefixed(None)),
            Err(e) => Err(e),
        }
    }
}

/// The most names a thread keeps for sharing (events naming ever new fields, as a file of
/// random keys would, start the table over rather than grow it).
const NAMES_KEPT: usize = 4096;

/// The field names a thread's events use, each allocated once and shared: events of one
/// source repeat the same names, mostly in the same order, so a name is first compared with
/// the name the previous event had at the same position, then looked up.
#[derive(Debug, Default)]
struct Names {
    /// Per field position, the name the event read last had there.
    recent: Vec<Arc<str>>,
    known: HashSet<Arc<str>, FastHash>,
    /// How many fields the event read last had.
    last_count: usize,
}

impl Names {
    /// The shared name `name`, for the field at `position` of the event being read.
    fn name(&mut self, position: usize, name: &str) -> Arc<str> {
        if let Some(recent) = self.recent.get(position) {
            if **recent == *name {
                return Arc::clone(recent);
            }
        }
        let shared = match self.known.get(name) {
            Some(known) => Arc::clone(known),
            None => {
                if self.known.len() >= NAMES_KEPT {
                    self.known.clear();
                }
                let shared: Arc<str> = Arc::from(name);
                self.known.insert(Arc::clone(&shared));
                shared
            }
        };
        if position < self.recent.len() {
            self.recent[position] = Arc::clone(&shared);
        } else if position == self.recent.len() && position < NAMES_KEPT {
            self.recent.push(Arc::clone(&shared));
        }
        shared
    }
}

thread_local! {
    /// The names of the events read on this thread.
    static NAMES: RefCell<Names> = RefCell::new(Names::default());
}

/// An object key, appended to a buffer as it is read (no allocation per key).
struct KeyInto<'b>(&'b mut String);

impl<'de> serde::de::DeserializeSeed<'de> for KeyInto<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<(), E> {
        self.0.push_str(key);
        Ok(())
    }
}

/// The top-level object of an event.
struct Root<'b> {
    builder: &'b mut Builder,
}

impl<'de> serde::de::DeserializeSeed<'de> for Root<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Root<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.builder;
        loop {
            builder.key.clear();
            if map.next_key_seed(KeyInto(&mut builder.key))?.is_none() {
                break;
            }
            match builder.key.as_str() {
                "Event" => {
                    let value: Json = map.next_value()?;
                    if value.is_object() {
                        builder.windows = Some(value);
                    } else {
                        builder.event.flatten("Event", &value);
                    }
                }
                "winlog" => {
                    builder.needs_tree = true;
                    return Err(serde::de::Error::custom("a Winlogbeat document"));
                }
                _ => {
                    builder.path.clear();
                    builder.path.push_str(&builder.key);
                    map.next_value_seed(Flat {
                        builder: &mut *builder,
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// A value below the top level, flattened under the builder's path.
struct Flat<'b> {
    builder: &'b mut Builder,
}

impl Flat<'_> {
    fn push(self, value: FieldValue) {
        let builder = self.builder;
        let position = builder.event.fields.len();
        let name = NAMES.with(|names| names.borrow_mut().name(position, &builder.path));
        builder.event.fields.push(EventField { name, value });
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Flat<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Flat<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<(), E> {
        self.push(FieldValue::bool(b));
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<(), E> {
        self.push(FieldValue::number(&serde_json::Number::from(n)));
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<(), E> {
        self.push(FieldValue::number(&serde_json::Number::from(n)));
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<(), E> {
        match serde_json::Number::from_f64(n) {
            Some(number) => self.push(FieldValue::number(&number)),
            None => self.push(FieldValue::null()),
        }
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.push(FieldValue::string(text));
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.push(FieldValue::null());
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let builder = self.builder;
        while seq
            .next_element_seed(Flat {
                builder: &mut *builder,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.builder;
        let length = builder.path.len();
        loop {
            builder.key.clear();
            if map.next_key_seed(KeyInto(&mut builder.key))?.is_none() {
                break;
            }
            // Attribute levels are left out of names, as in `Event::flatten`.
            if builder.key != "#attributes" && builder.key != "#text" {
                if !builder.path.is_empty() {
                    builder.path.push('.');
                }
                builder.path.push_str(&builder.key);
            }
            map.next_value_seed(Flat {
                builder: &mut *builder,
            })?;
            builder.path.truncate(length);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_read_in_place_is_the_object_read_alone() {
        let text = "{\"Image\": \"C:\\\\X.exe\", \"n\": [1, {\"k\": true}]}\n{\"b\": 2}";
        let first = text.find('\n').unwrap();
        let (event, length) = Event::from_json_prefix(text).unwrap();
        assert_eq!(length, first);
        assert_eq!(
            event,
            Event::from_json_slice(&text.as_bytes()[..first]).unwrap()
        );
        // Cut short, damaged, or a Winlogbeat document (read from a tree): left to the caller.
        assert!(Event::from_json_prefix(&text[..first - 1]).is_none());
        assert!(Event::from_json_prefix("{\"a\": tru}").is_none());
        assert!(Event::from_json_prefix("[1]").is_none());
        let winlogbeat =
            r#"{"winlog": {"channel": "Security", "event_id": 4688}, "event": {"code": 4688}}"#;
        assert!(Event::from_json_prefix(winlogbeat).is_none());
        assert!(
            !Event::from_json_slice(winlogbeat.as_bytes())
                .unwrap()
                .fields
                .is_empty()
        );
    }

    #[test]
    fn windows_events_get_short_names_and_paths() {
        let json: Json = serde_json::from_str(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},
            "EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc",
            "TimeCreated":{"#attributes":{"SystemTime":"2025-10-24T23:41:00.601559Z"}}},
            "EventData":{"Image":"C:\\Windows\\cmd.exe","ProcessId":42}}}"##,
        )
        .unwrap();
        let event = Event::from_json(&json);
        assert_eq!(&*event.get("Image").unwrap().text, r"C:\Windows\cmd.exe");
        assert_eq!(event.get("image").unwrap().lower(), r"c:\windows\cmd.exe");
        assert_eq!(
            &*event.get("Event.EventData.Image").unwrap().text,
            r"C:\Windows\cmd.exe"
        );
        assert_eq!(event.get("EventID").unwrap().number, Some(1.0));
        assert_eq!(
            &*event.get("Provider_Name").unwrap().text,
            "Microsoft-Windows-Sysmon"
        );
        assert_eq!(event.timestamp, parse_timestamp("2025-10-24T23:41:00.601Z"));
    }

    #[test]
    fn winlogbeat_and_nested_json() {
        let json: Json = serde_json::from_str(
            r#"{"@timestamp":"2024-01-02T03:04:05Z","winlog":{"event_id":4688,"channel":"Security",
            "event_data":{"NewProcessName":"C:\\x.exe"}},"process":{"args":["a","b"]}}"#,
        )
        .unwrap();
        let event = Event::from_json(&json);
        assert_eq!(&*event.get("NewProcessName").unwrap().text, r"C:\x.exe");
        assert_eq!(&*event.get("Channel").unwrap().text, "Security");
        assert_eq!(event.get("EventID").unwrap().number, Some(4688.0));
        assert_eq!(
            event
                .fields
                .iter()
                .filter(|f| &*f.name == "process.args")
                .count(),
            2
        );
        assert_eq!(event.timestamp, Some(1_704_164_645_000));
    }

    #[test]
    fn timestamps_and_calendar_parts() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01 01:00:00.5+01:00"), Some(500));
        assert_eq!(parse_timestamp("yesterday"), None);
        let t = parse_timestamp("2024-12-30T13:45:00Z").unwrap();
        assert_eq!(civil_parts(t), (2024, 12, 30, 13, 45, 1));
        let t = parse_timestamp("2021-01-03T00:00:00Z").unwrap();
        assert_eq!(civil_parts(t).5, 53);
    }

    #[test]
    fn streamed_events_equal_the_ones_built_from_values() {
        let documents = [
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","TimeCreated":{"#attributes":{"SystemTime":"2025-10-24T23:41:00.601559Z"}}},"EventData":{"Image":"C:\\Windows\\cmd.exe","ProcessId":42}},"extra":{"a":[1,2.5,"x",null,true]}}"##,
            r#"{"@timestamp":"2024-01-02T03:04:05Z","winlog":{"event_id":4688,"channel":"Security","event_data":{"NewProcessName":"C:\\x.exe"}},"process":{"args":["a","b"]}}"#,
            r##"{"EventID": 1, "Image": "C:\\A\u00e9.exe", "n": -3, "f": 1e3, "o": {"#text": "t", "k": {"#attributes": {"z": 1}}}, "": "empty key", "Event": 5}"##,
        ];
        for text in documents {
            let tree: Json = serde_json::from_str(text).unwrap();
            assert_eq!(
                Event::from_json_slice(text.as_bytes()).unwrap(),
                Event::from_json(&tree),
                "{text}"
            );
        }
        assert!(Event::from_json_slice(b"{\"a\": tru}").is_err());
        assert!(Event::from_json_slice(b"{\"a\": 1} x").is_err());
    }
}
