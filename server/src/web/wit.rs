//! WIT as readable, highlighted text: a small tokenizer for the WIT the
//! index stores (printed by `wit-component`, so well-formed), and a
//! renderer that wraps tokens in `<span>`s by class, anchors definitions
//! for the outline ([`super::wit_outline`]) and links references to
//! packages this registry holds.
//!
//! Highlighting is lexical on purpose: it cannot fail on text a newer WIT
//! grammar adds, it only shows fewer colours; anything unknown is plain text.

use std::collections::HashMap;

use maud::{Markup, PreEscaped, html};

/// The lexical class of a token (and its CSS class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Space,
    Comment,
    Keyword,
    /// A built-in type (`u32`, `string`, `list`, ...).
    Type,
    /// `@since`, `@unstable`, `@deprecated`.
    Annotation,
    /// Numbers and versions.
    Number,
    Ident,
    Punct,
}

impl Class {
    fn css(self) -> Option<&'static str> {
        match self {
            Class::Comment => Some("c"),
            Class::Keyword => Some("k"),
            Class::Type => Some("t"),
            Class::Annotation => Some("a"),
            Class::Number => Some("n"),
            Class::Space | Class::Ident | Class::Punct => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub class: Class,
    pub text: &'a str,
}

const KEYWORDS: &[&str] = &[
    "package",
    "world",
    "interface",
    "use",
    "import",
    "export",
    "include",
    "with",
    "as",
    "from",
    "func",
    "type",
    "record",
    "resource",
    "variant",
    "enum",
    "flags",
    "static",
    "constructor",
    "async",
];

const TYPES: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "f32",
    "f64",
    "float32",
    "float64",
    "bool",
    "char",
    "string",
    "list",
    "option",
    "result",
    "tuple",
    "own",
    "borrow",
    "future",
    "stream",
    "error-context",
    "_",
];

/// Splits WIT text into tokens that, concatenated, give the text back.
pub fn tokenize(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let (class, end) = next_token(bytes, start);
        // Every branch consumes at least one byte, on a char boundary.
        tokens.push(Token {
            class,
            text: &text[start..end],
        });
        start = end;
    }
    tokens
}

fn next_token(bytes: &[u8], start: usize) -> (Class, usize) {
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut end = start + 1;
    let c = at(start);
    if c.is_ascii_whitespace() {
        while at(end).is_ascii_whitespace() {
            end += 1;
        }
        return (Class::Space, end);
    }
    if c == b'/' && at(start + 1) == b'/' {
        while end < bytes.len() && at(end) != b'\n' {
            end += 1;
        }
        return (Class::Comment, end);
    }
    if c == b'/' && at(start + 1) == b'*' {
        // Block comments nest in WIT.
        let mut depth = 0usize;
        let mut i = start;
        while i < bytes.len() {
            if at(i) == b'/' && at(i + 1) == b'*' {
                depth += 1;
                i += 2;
            } else if at(i) == b'*' && at(i + 1) == b'/' {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    break;
                }
            } else {
                i += 1;
            }
        }
        return (Class::Comment, i.min(bytes.len()));
    }
    if c == b'@' && at(start + 1).is_ascii_alphabetic() {
        while is_ident_byte(at(end), at(end + 1)) {
            end += 1;
        }
        return (Class::Annotation, end);
    }
    if c.is_ascii_digit() {
        // Versions like 0.2.0-rc.1+build, but not the `.{` of a use list.
        while at(end).is_ascii_alphanumeric()
            || matches!(at(end), b'+' | b'-')
            || (at(end) == b'.' && at(end + 1).is_ascii_alphanumeric())
        {
            end += 1;
        }
        return (Class::Number, end);
    }
    if c.is_ascii_alphabetic() || c == b'_' || (c == b'%' && at(start + 1).is_ascii_alphabetic()) {
        while is_ident_byte(at(end), at(end + 1)) {
            end += 1;
        }
        let word = std::str::from_utf8(&bytes[start..end]).unwrap_or_default();
        let class = if KEYWORDS.contains(&word) {
            Class::Keyword
        } else if TYPES.contains(&word) {
            Class::Type
        } else {
            Class::Ident
        };
        return (class, end);
    }
    if c == b'-' && at(start + 1) == b'>' {
        return (Class::Punct, start + 2);
    }
    // Anything else, one character at a time (whole UTF-8 sequences).
    while end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
        end += 1;
    }
    (Class::Punct, end)
}

/// Kebab-case identifier bytes: a `-` only when a letter or digit follows.
fn is_ident_byte(byte: u8, next: u8) -> bool {
    byte.is_ascii_alphanumeric() || (byte == b'-' && next.is_ascii_alphanumeric())
}

/// What to add to the plain highlighting.
#[derive(Debug, Default)]
pub struct Decorations {
    /// Token index -> the `id` of a definition (outline targets).
    pub anchors: HashMap<usize, String>,
    /// First token index -> (one past the last token, URL): references to
    /// packages the registry holds.
    pub links: HashMap<usize, (usize, String)>,
}

/// The tokens as a `<pre><code>` block.
pub fn render(tokens: &[Token<'_>], decorations: &Decorations) -> Markup {
    let mut out = String::with_capacity(tokens.iter().map(|t| t.text.len() * 2).sum());
    let mut link_end = None;
    for (i, token) in tokens.iter().enumerate() {
        if let Some((end, href)) = decorations.links.get(&i) {
            out.push_str(&format!("<a href=\"{}\">", html! { (href) }.into_string()));
            link_end = Some(*end);
        }
        let piece = match (decorations.anchors.get(&i), token.class.css()) {
            (Some(id), _) => html! { span.d id=(id) { (token.text) } },
            (None, Some(css)) => html! { span class=(css) { (token.text) } },
            (None, None) => html! { (token.text) },
        };
        out.push_str(&piece.into_string());
        if link_end == Some(i + 1) {
            out.push_str("</a>");
            link_end = None;
        }
    }
    if link_end.is_some() {
        out.push_str("</a>");
    }
    html! { pre.wit { code { (PreEscaped(out)) } } }
}

/// A reference to package `namespace:name` at tokens `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub start: usize,
    pub end: usize,
    pub namespace: String,
    pub name: String,
}

/// `ns:name/...` references to packages: identifier, `:`, identifier, `/`,
/// with nothing in between (printed WIT writes paths without spaces).
pub fn references(tokens: &[Token<'_>]) -> Vec<Reference> {
    let word = |t: &Token<'_>| matches!(t.class, Class::Ident | Class::Keyword | Class::Type);
    tokens
        .windows(4)
        .enumerate()
        .filter(|(_, w)| word(&w[0]) && w[1].text == ":" && word(&w[2]) && w[3].text == "/")
        .map(|(start, w)| Reference {
            start,
            end: start + 3,
            namespace: w[0].text.to_string(),
            name: w[2].text.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "package acme:greet@1.0.0-rc.1;\n\n/// Says hi.\ninterface greeter {\n  use wasi:io/streams@0.2.0.{input-stream};\n  @since(version = 0.2.0)\n  greet: func(name: string) -> result<list<u8>, %type>; /* a /* nested */ comment */\n}\n";

    #[test]
    fn tokens_give_the_text_back() {
        let tokens = tokenize(SAMPLE);
        let joined: String = tokens.iter().map(|t| t.text).collect();
        assert_eq!(joined, SAMPLE);
        let non_ascii = "// café ✓\nworld w {}";
        assert_eq!(
            tokenize(non_ascii)
                .iter()
                .map(|t| t.text)
                .collect::<String>(),
            non_ascii
        );
    }

    #[test]
    fn tokens_are_classified() {
        let tokens: Vec<(Class, &str)> = tokenize(SAMPLE)
            .into_iter()
            .filter(|t| t.class != Class::Space)
            .map(|t| (t.class, t.text))
            .collect();
        assert!(tokens.contains(&(Class::Keyword, "package")));
        assert!(tokens.contains(&(Class::Number, "1.0.0-rc.1")));
        assert!(tokens.contains(&(Class::Number, "0.2.0")));
        assert!(tokens.contains(&(Class::Comment, "/// Says hi.")));
        assert!(tokens.contains(&(Class::Comment, "/* a /* nested */ comment */")));
        assert!(tokens.contains(&(Class::Annotation, "@since")));
        assert!(tokens.contains(&(Class::Ident, "input-stream")));
        assert!(tokens.contains(&(Class::Type, "string")));
        assert!(tokens.contains(&(Class::Ident, "%type")));
        assert!(tokens.contains(&(Class::Punct, "->")));
    }

    #[test]
    fn rendering_escapes_and_decorates() {
        let tokens = tokenize("world w { import x: func() -> list<u8>; }");
        let mut decorations = Decorations::default();
        decorations.anchors.insert(2, "wit-world-w".into());
        let html = render(&tokens, &decorations).into_string();
        assert!(
            html.contains("<span class=\"d\" id=\"wit-world-w\">w</span>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;<span class=\"t\">u8</span>&gt;"),
            "{html}"
        );
        assert!(html.contains("<span class=\"k\">import</span>"), "{html}");
    }

    #[test]
    fn package_references_are_found() {
        let text = "package a:b;\nuse wasi:io/streams@0.2.0.{x};\nimport wasi:cli/stdout@0.2.0;\nfield: my-type,";
        let found = references(&tokenize(text));
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|r| (r.namespace.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(names, [("wasi", "io"), ("wasi", "cli")]);
    }
}
