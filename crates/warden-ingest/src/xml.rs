//! Windows events rendered as XML (`wevtutil qe /f:xml`, Event Viewer's "Save as XML",
//! SIEM exports): `<Event>` documents one per line, pretty-printed, concatenated, or
//! wrapped in an `<Events>` root — each read into the JSON shape Warden renders EVTX
//! records as (`Event.System`, `Event.EventData`), so rules, timelines and the graph read
//! them like any other Windows event.
//!
//! The conversion follows the EVTX renderer: an element's attributes go under
//! `#attributes` (and its text under `#text` when it has both), `<Data Name="X">v</Data>`
//! becomes `"X": "v"`, unnamed `<Data>` values a `Data` list, repeated elements lists.
//! Bounded: an event larger than [`MAX_EVENT_BYTES`] or nested deeper than [`MAX_DEPTH`]
//! is an error in its place, and the reading goes on with the next event.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use serde_json::{Map, Value};

/// Largest event read, in bytes of XML.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
/// Deepest element nesting inside an event.
pub const MAX_DEPTH: usize = 64;

/// One `<Event>` read: the document and the line its start tag is on, or why it could not
/// be read.
pub type XmlEvent = Result<(Value, u64), (String, u64)>;

/// An element being built: its name, attributes, children and text.
#[derive(Default)]
struct Node {
    name: String,
    attrs: Map<String, Value>,
    children: Vec<(String, Value)>,
    text: String,
}

impl Node {
    fn new(start: &BytesStart<'_>) -> Result<Node, String> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let mut attrs = Map::new();
        for a in start.attributes() {
            let a = a.map_err(|e| format!("element <{name}>: {e}"))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|e| format!("element <{name}>, attribute {key}: {e}"))?;
            attrs.insert(key, Value::String(value.into_owned()));
        }
        Ok(Node {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
        })
    }

    /// The element as JSON, named (a named `<Data>` takes its `Name`).
    fn finish(mut self) -> (String, Value) {
        if self.name == "Data"
            && let Some(Value::String(name)) = self.attrs.remove("Name")
        {
            return (name, Value::String(self.text));
        }
        let text = self.text.trim();
        let value = if self.children.is_empty() && self.attrs.is_empty() {
            Value::String(text.to_owned())
        } else {
            let mut obj = Map::new();
            if !self.attrs.is_empty() {
                obj.insert("#attributes".into(), Value::Object(self.attrs));
            }
            for (k, v) in self.children {
                match obj.get_mut(&k) {
                    Some(Value::Array(list)) if k == "Data" => list.push(v),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = match first {
                            Value::Array(mut list) => {
                                list.push(v);
                                Value::Array(list)
                            }
                            other => Value::Array(vec![other, v]),
                        };
                    }
                    None if k == "Data" => drop(obj.insert(k, Value::Array(vec![v]))),
                    None => drop(obj.insert(k, v)),
                }
            }
            if !text.is_empty() {
                obj.insert("#text".into(), Value::String(text.to_owned()));
            }
            Value::Object(obj)
        };
        (self.name, value)
    }
}

/// An event being read: its stack of open elements, the line and size so far, and the
/// first reason it cannot be kept.
struct Building {
    stack: Vec<Node>,
    started: u64,
    bytes: usize,
    broken: Option<String>,
}

impl Building {
    /// A start tag at `line`, `len` bytes long. Outside an event only `<Event>` opens one
    /// (a wrapper such as `<Events>` is passed through).
    fn open(&mut self, s: &BytesStart<'_>, line: u64, len: usize) {
        if self.stack.is_empty() {
            if s.local_name().as_ref() != b"Event" {
                return;
            }
            self.started = line;
            self.bytes = len;
            self.broken = None;
        }
        let node = Node::new(s).unwrap_or_else(|e| {
            self.broken.get_or_insert(e);
            Node::default()
        });
        self.stack.push(node);
    }

    /// An empty element (`<X/>`), a child of the open element.
    fn empty(&mut self, s: &BytesStart<'_>) {
        if self.stack.is_empty() {
            return;
        }
        match Node::new(s) {
            Ok(n) => self.adopt(n.finish()),
            Err(e) => drop(self.broken.get_or_insert(e)),
        }
    }

    /// Text of the open element.
    fn text(&mut self, text: &str) {
        if let Some(top) = self.stack.last_mut() {
            top.text.push_str(text);
        }
    }

    /// A character or entity reference in the open element's text.
    fn reference(&mut self, r: &BytesRef<'_>) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        if let Ok(Some(c)) = r.resolve_char_ref() {
            top.text.push(c);
            return;
        }
        let name = r.decode().unwrap_or_default();
        match quick_xml::escape::resolve_predefined_entity(&name) {
            Some(s) => top.text.push_str(s),
            None => drop(
                self.broken
                    .get_or_insert_with(|| format!("unknown entity &{name};")),
            ),
        }
    }

    /// An end tag: the open element finished; the event, when it was its own.
    fn close(&mut self) -> Option<XmlEvent> {
        let node = self.stack.pop()?;
        let (k, v) = node.finish();
        if !self.stack.is_empty() {
            self.adopt((k, v));
            return None;
        }
        let mut doc = Map::new();
        doc.insert(k, v);
        Some(match self.broken.take() {
            Some(why) => Err((why, self.started)),
            None if self.bytes > MAX_EVENT_BYTES => Err(self.too_large()),
            None => Ok((Value::Object(doc), self.started)),
        })
    }

    /// A finished child of the open element.
    fn adopt(&mut self, child: (String, Value)) {
        if let Some(parent) = self.stack.last_mut() {
            parent.children.push(child);
        }
    }

    fn too_large(&self) -> (String, u64) {
        (
            format!("event larger than {MAX_EVENT_BYTES} bytes"),
            self.started,
        )
    }

    /// Why the open event cannot be read on, when it has grown past a limit: nested
    /// deeper than [`MAX_DEPTH`] (the first reason it was broken for, if any), or larger
    /// than [`MAX_EVENT_BYTES`].
    fn past_limits(&mut self) -> Option<String> {
        if self.stack.len() > MAX_DEPTH {
            let deep = || format!("nested deeper than {MAX_DEPTH}");
            return Some(self.broken.take().unwrap_or_else(deep));
        }
        (!self.stack.is_empty() && self.bytes > MAX_EVENT_BYTES).then(|| self.too_large().0)
    }
}

/// Reads `<Event>` elements from `input`, one call of `each` per event.
pub fn read_events(input: impl BufRead, each: &mut dyn FnMut(XmlEvent)) {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = false;
    let mut buf = Vec::new();
    let mut line = 1u64;
    let mut event = Building {
        stack: Vec::new(),
        started: 0,
        bytes: 0,
        broken: None,
    };
    loop {
        buf.clear();
        let here = line;
        let ev = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(ev) => ev,
            Err(e) => {
                let at = if event.stack.is_empty() {
                    here
                } else {
                    event.started
                };
                each(Err((format!("malformed XML: {e}"), at)));
                // The reader cannot resync inside a broken document: stop here.
                return;
            }
        };
        let len = ev.len();
        line += memchr::memchr_iter(b'\n', &ev).count() as u64;
        if !event.stack.is_empty() {
            event.bytes += len + 2;
        }
        match ev {
            Event::Start(s) => event.open(&s, here, len),
            Event::Empty(s) => event.empty(&s),
            Event::Text(t) => {
                if let Ok(s) = t.xml_content() {
                    event.text(&s);
                }
            }
            Event::CData(t) => event.text(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => event.reference(&r),
            Event::End(_) => {
                if let Some(done) = event.close() {
                    each(done);
                }
            }
            _ => {}
        }
        if let Some(why) = event.past_limits() {
            // Too large or too deep: drop what was built (before it grows any deeper) and
            // skip to the end of this event.
            each(Err((why, event.started)));
            let open = std::mem::take(&mut event.stack).len();
            if !skip_elements(&mut reader, &mut buf, &mut line, open) {
                return;
            }
        }
    }
    if !event.stack.is_empty() {
        each(Err((
            "the input ends inside an event".to_owned(),
            event.started,
        )));
    }
}

/// Reads past the ends of `open` elements, counting lines; false when the input ends (or
/// breaks) first.
fn skip_elements<R: BufRead>(
    reader: &mut Reader<R>,
    buf: &mut Vec<u8>,
    line: &mut u64,
    open: usize,
) -> bool {
    let mut depth = open;
    while depth > 0 {
        buf.clear();
        match reader.read_event_into(buf) {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
        *line += memchr::memchr_iter(b'\n', buf).count() as u64;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Service Control Manager" Guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}" EventSourceName="Service Control Manager"/><EventID Qualifiers="16384">7045</EventID><TimeCreated SystemTime="2020-09-20T16:16:10.380Z"/><EventRecordID>1075</EventRecordID><Channel>System</Channel><Computer>WORKSTATION6.theshire.local</Computer></System><EventData><Data Name="ServiceName">XYZ &amp; co</Data><Data Name="ImagePath">%COMSPEC% /b /c start /b /min powershell -nop</Data></EventData></Event>"#;

    fn read(text: &str) -> Vec<XmlEvent> {
        let mut out = Vec::new();
        read_events(text.as_bytes(), &mut |e| out.push(e));
        out
    }

    #[test]
    fn an_event_reads_as_evtx_renders_it() {
        let got = read(EVENT);
        let (doc, line) = got[0].clone().unwrap();
        assert_eq!(line, 1);
        let sys = &doc["Event"]["System"];
        assert_eq!(
            sys["Provider"]["#attributes"]["Name"],
            "Service Control Manager"
        );
        assert_eq!(sys["EventID"]["#text"], "7045");
        assert_eq!(sys["EventRecordID"], "1075");
        assert_eq!(
            sys["TimeCreated"]["#attributes"]["SystemTime"],
            "2020-09-20T16:16:10.380Z"
        );
        assert_eq!(doc["Event"]["EventData"]["ServiceName"], "XYZ & co");
    }

    #[test]
    fn wrapped_concatenated_and_pretty_printed_events_all_read_with_their_lines() {
        let pretty = EVENT.replace("><", ">\n<");
        let text = format!("<Events>\n{EVENT}\n{pretty}</Events>\n");
        let got = read(&text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().1, 2);
        assert_eq!(got[1].as_ref().unwrap().1, 3);
        assert_eq!(
            got[1].as_ref().unwrap().0["Event"]["EventData"]["ImagePath"],
            "%COMSPEC% /b /c start /b /min powershell -nop"
        );
    }

    #[test]
    fn attributes_with_text_repeated_elements_cdata_and_character_references() {
        let text = concat!(
            "<Event><System><EventID Qualifiers=\"0\">4624</EventID></System>",
            "<UserData><Log><Entry>one</Entry><Entry>two</Entry><Entry>three</Entry>",
            "<Note><![CDATA[a < b & c]]></Note><Char>&#x41;&#66;&lt;&quot;</Char>",
            "<Empty/><Flag On=\"yes\"/></Log></UserData></Event>"
        );
        let got = read(text);
        let (doc, _) = got[0].clone().unwrap();
        let event = &doc["Event"];
        assert_eq!(
            event["System"]["EventID"],
            serde_json::json!({"#attributes": {"Qualifiers": "0"}, "#text": "4624"})
        );
        let log = &event["UserData"]["Log"];
        assert_eq!(log["Entry"], serde_json::json!(["one", "two", "three"]));
        assert_eq!(log["Note"], "a < b & c");
        assert_eq!(log["Char"], "AB<\"");
        assert_eq!(log["Empty"], "");
        assert_eq!(log["Flag"]["#attributes"]["On"], "yes");
    }

    #[test]
    fn an_event_too_large_is_an_error_and_none_of_it_is_read_as_an_event() {
        let huge = "A".repeat(MAX_EVENT_BYTES + 1);
        // After the oversized part, an element that happens to be called Event: it belongs
        // to the event being skipped, not an event of its own.
        let text = format!(
            "<Event><UserData><Big>{huge}</Big><Event>inner</Event></UserData></Event>\n{EVENT}\n"
        );
        let got = read(&text);
        assert_eq!(
            got.len(),
            2,
            "{:?}",
            got.iter()
                .map(|r| r.as_ref().map(|d| d.1))
                .collect::<Vec<_>>()
        );
        let (why, line) = got[0].clone().unwrap_err();
        assert!(why.contains("larger than"), "{why}");
        assert_eq!(line, 1);
        assert_eq!(got[1].as_ref().unwrap().1, 2);
    }

    #[test]
    fn nesting_too_deep_is_an_error_and_the_next_event_reads() {
        let deep = MAX_DEPTH + 1;
        let text = format!(
            "<Event>{}{}</Event>\n{EVENT}",
            "<a>".repeat(deep),
            "</a>".repeat(deep)
        );
        let got = read(&text);
        assert_eq!(got.len(), 2);
        assert!(got[0].clone().unwrap_err().0.contains("nested deeper"));
        assert_eq!(got[1].as_ref().unwrap().1, 2);
        // Nesting that would overflow the stack to build, or to drop, is never built.
        let levels = 500_000;
        let text = format!(
            "<Event>{}{}</Event>\n{EVENT}",
            "<a>".repeat(levels),
            "</a>".repeat(levels)
        );
        let got = read(&text);
        assert_eq!(got.len(), 2);
        assert!(got[0].clone().unwrap_err().0.contains("nested deeper"));
        assert_eq!(got[1].as_ref().unwrap().1, 2);
        // One level less is read.
        let text = format!(
            "<Event>{}{}</Event>",
            "<a>".repeat(MAX_DEPTH - 1),
            "</a>".repeat(MAX_DEPTH - 1)
        );
        assert!(read(&text)[0].is_ok());
    }

    #[test]
    fn a_bad_attribute_names_its_element_and_the_input_cut_inside_an_event_says_so() {
        let text = "<Event><System><Provider Name=\"a&bogus;b\"/></System></Event>\n<Event><System/></Event>\n<Event><System>";
        let got = read(text);
        assert_eq!(got.len(), 3, "{got:?}");
        let (why, line) = got[0].clone().unwrap_err();
        assert!(why.contains("<Provider>") && why.contains("Name"), "{why}");
        assert_eq!(line, 1);
        assert!(got[1].is_ok());
        let (why, line) = got[2].clone().unwrap_err();
        assert_eq!((why.as_str(), line), ("the input ends inside an event", 3));
    }

    #[test]
    fn malformed_xml_stops_the_reading_with_the_line_of_the_event() {
        let text = format!("{EVENT}\n<Event><System>\n<EventID>1</EventID");
        let got = read(&text);
        assert!(got[0].is_ok());
        let (why, line) = got.last().unwrap().clone().unwrap_err();
        assert!(why.starts_with("malformed XML"), "{why}");
        assert_eq!(line, 2);
    }

    proptest::proptest! {
        /// Any bytes, and any cut or corruption of a real event: errors in place, never a
        /// panic, and never more results than `<Event` starts.
        #[test]
        fn damaged_input_never_panics(
            cut in 0usize..EVENT.len(),
            at in 0usize..EVENT.len(),
            byte in proptest::prelude::any::<u8>(),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let mut bytes = EVENT.as_bytes()[..cut].to_vec();
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            bytes.extend_from_slice(&noise);
            bytes.extend_from_slice(EVENT.as_bytes());
            let mut n = 0usize;
            read_events(&bytes[..], &mut |_| n += 1);
            let starts = bytes.windows(6).filter(|w| w == b"<Event").count();
            proptest::prop_assert!(n <= starts + 1);
        }
    }

    #[test]
    fn unnamed_data_is_a_list_and_a_broken_event_is_an_error_in_its_place() {
        let text = "<Event><EventData><Data>a</Data><Data>b</Data></EventData></Event>\n<Event><System><EventID>1</EventID></System><EventData><Data Name=\"x\">&bogus;</Data></EventData></Event>\n<Event><System><EventID>2</EventID></System></Event>";
        let got = read(text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[0].as_ref().unwrap().0["Event"]["EventData"]["Data"],
            serde_json::json!(["a", "b"])
        );
        let (why, line) = got[1].clone().unwrap_err();
        assert!(why.contains("bogus"), "{why}");
        assert_eq!(line, 2);
        assert!(got[2].is_ok());
        // Truncated input: an error, no panic.
        let cut = &EVENT[..EVENT.len() / 2];
        assert!(read(cut).iter().any(Result::is_err));
    }
}
