//! The shape of a WIT document for the version page: its interfaces and
//! worlds with their types, functions, imports and exports, each linked to
//! its definition in the highlighted text; and the other packages it refers
//! to (`use wasi:io/streams@0.2.0.{..}`, `import wasi:cli/stdout@0.2.0;`),
//! found by [`references`].
//!
//! Read from the tokens of [`super::wit`] statement by statement (a
//! statement ends at `;`, `{` or `}`), tracking braces, which is all the
//! structure the page needs and never fails: unknown statements are skipped.

use std::collections::HashSet;

use super::wit::{Class, Decorations, Reference, Token, references};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Interface,
    World,
}

/// One named thing inside an interface or world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `func`, `record`, `resource`, `type`, `interface`, ...
    pub kind: String,
    pub name: String,
    /// The `id` of its definition in the text, when it is defined there.
    pub anchor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    pub name: String,
    pub anchor: String,
    pub types: Vec<Item>,
    pub functions: Vec<Item>,
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
    pub includes: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Outline {
    pub sections: Vec<Section>,
    pub references: Vec<Reference>,
    /// Definition anchors, for [`super::wit::render`].
    pub decorations: Decorations,
}

enum Scope {
    /// The file, or a nested `package a:b { .. }`.
    Package,
    Section(usize),
    /// A type body, an inline interface: nothing to list inside.
    Other,
}

const TYPE_KINDS: &[&str] = &["record", "variant", "enum", "flags", "resource"];

/// Reads the outline of tokenized WIT.
pub fn outline(tokens: &[Token<'_>]) -> Outline {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].class, Class::Space | Class::Comment))
        .collect();
    let mut reader = Reader {
        tokens,
        outline: Outline::default(),
        ids: HashSet::new(),
    };
    let text = |i: usize| tokens[i].text;
    let mut stack = vec![Scope::Package];
    let mut p = 0;
    while p < significant.len() {
        // Statement head: up to `;`, `{` or `}`, skipping `@since(...)`.
        let mut head: Vec<usize> = Vec::new();
        let mut end = None;
        while p < significant.len() {
            let i = significant[p];
            p += 1;
            let t = text(i);
            if tokens[i].class == Class::Annotation && head.is_empty() {
                if significant.get(p).is_some_and(|&n| text(n) == "(") {
                    let mut parens = 0usize;
                    while p < significant.len() {
                        match text(significant[p]) {
                            "(" => parens += 1,
                            ")" => parens = parens.saturating_sub(1),
                            _ => {}
                        }
                        p += 1;
                        if parens == 0 {
                            break;
                        }
                    }
                }
                continue;
            }
            let list_brace = t == "{" && head.first().is_some_and(|&h| text(h) == "use");
            let with_brace = t == "{" && head.iter().any(|&h| text(h) == "with");
            if list_brace || with_brace {
                // `use a.{b, c};` and `include a with { b as c }`: braces
                // that open no scope. Read through the closing one.
                while p < significant.len() && text(significant[p]) != "}" {
                    p += 1;
                }
                p += 1;
                if with_brace {
                    end = Some(";");
                    break;
                }
                continue;
            }
            if matches!(t, ";" | "{" | "}") {
                end = Some(t);
                break;
            }
            head.push(i);
        }
        let scope = stack.last().unwrap_or(&Scope::Package);
        match end {
            Some("{") => {
                let opened = reader.open(scope, &head);
                stack.push(opened);
            }
            Some("}") => {
                if stack.len() > 1 {
                    stack.pop();
                }
            }
            _ => reader.statement(scope, &head),
        }
    }
    reader.outline.references = references(tokens);
    link_local_interfaces(&mut reader.outline.sections);
    reader.outline
}

/// `export greeter;` names an interface of the same document: point the
/// item at that interface's definition.
fn link_local_interfaces(sections: &mut [Section]) {
    let interfaces: Vec<(String, String)> = sections
        .iter()
        .filter(|s| s.kind == SectionKind::Interface)
        .map(|s| (s.name.clone(), s.anchor.clone()))
        .collect();
    for section in sections.iter_mut() {
        for item in section.imports.iter_mut().chain(section.exports.iter_mut()) {
            if item.anchor.is_none()
                && let Some((_, anchor)) = interfaces.iter().find(|(name, _)| *name == item.name)
            {
                item.anchor = Some(anchor.clone());
            }
        }
    }
}

struct Reader<'t, 'a> {
    tokens: &'t [Token<'a>],
    outline: Outline,
    ids: HashSet<String>,
}

impl Reader<'_, '_> {
    fn text(&self, head: &[usize], at: usize) -> &str {
        head.get(at).map_or("", |&i| self.tokens[i].text)
    }

    /// A unique `id` for the definition at token `token`.
    fn anchor(&mut self, parts: &[&str], token: usize) -> String {
        let base = format!("wit-{}", parts.join("-").replace('%', ""));
        let mut id = base.clone();
        let mut n = 2;
        while !self.ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.outline.decorations.anchors.insert(token, id.clone());
        id
    }

    fn section_name(&self, index: usize) -> String {
        self.outline.sections[index].name.clone()
    }

    /// A statement that opens a block; returns the block's scope.
    fn open(&mut self, scope: &Scope, head: &[usize]) -> Scope {
        let first = self.text(head, 0).to_string();
        match scope {
            Scope::Package if first == "package" => Scope::Package,
            Scope::Package
                if matches!(first.as_str(), "interface" | "world") && head.len() >= 2 =>
            {
                let name = self.text(head, 1).to_string();
                let anchor = self.anchor(&[&name], head[1]);
                let kind = if first == "world" {
                    SectionKind::World
                } else {
                    SectionKind::Interface
                };
                self.outline.sections.push(Section {
                    kind,
                    name,
                    anchor,
                    types: Vec::new(),
                    functions: Vec::new(),
                    imports: Vec::new(),
                    exports: Vec::new(),
                    includes: Vec::new(),
                });
                Scope::Section(self.outline.sections.len() - 1)
            }
            Scope::Section(index) => {
                // `record x {`, `resource x {`, `import x: interface {`
                self.statement(&Scope::Section(*index), head);
                Scope::Other
            }
            _ => Scope::Other,
        }
    }

    /// A statement ending in `;` (or the head of a block in a section).
    fn statement(&mut self, scope: &Scope, head: &[usize]) {
        let Scope::Section(index) = scope else {
            return;
        };
        if head.is_empty() {
            return;
        }
        let index = *index;
        let section = self.section_name(index);
        let first = self.text(head, 0).to_string();
        let second = self.text(head, 1).to_string();
        let third = self.text(head, 2).to_string();
        if TYPE_KINDS.contains(&first.as_str()) || first == "type" {
            if head.len() < 2 {
                return;
            }
            let anchor = self.anchor(&[&section, &second], head[1]);
            self.outline.sections[index].types.push(Item {
                kind: first,
                name: second,
                anchor: Some(anchor),
            });
        } else if self.tokens[head[0]].class == Class::Ident
            && second == ":"
            && head[2..].iter().any(|&i| self.tokens[i].text == "func")
        {
            let anchor = self.anchor(&[&section, &first], head[0]);
            self.outline.sections[index].functions.push(Item {
                kind: "func".into(),
                name: first,
                anchor: Some(anchor),
            });
        } else if matches!(first.as_str(), "import" | "export") && head.len() >= 2 {
            // `import log: func(..);` or `import x: interface {` name an
            // item; `import wasi:cli/stdout@0.2.0;` is a path.
            let named =
                third == ":" && matches!(self.text(head, 3), "func" | "async" | "interface");
            let item = if named {
                // A named import: a function or an inline interface.
                let kind = if head[3..].iter().any(|&i| self.tokens[i].text == "func") {
                    "func"
                } else {
                    "interface"
                };
                let anchor = self.anchor(&[&section, &first, &second], head[1]);
                Item {
                    kind: kind.into(),
                    name: second,
                    anchor: Some(anchor),
                }
            } else {
                let path: String = head[1..].iter().map(|&i| self.tokens[i].text).collect();
                Item {
                    kind: "interface".into(),
                    name: path,
                    anchor: None,
                }
            };
            let section = &mut self.outline.sections[index];
            if first == "import" {
                section.imports.push(item);
            } else {
                section.exports.push(item);
            }
        } else if first == "include" && head.len() >= 2 {
            let path: String = head[1..]
                .iter()
                .map(|&i| self.tokens[i].text)
                .take_while(|t| *t != "with")
                .collect();
            self.outline.sections[index].includes.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wit::tokenize;
    use super::*;

    const WIT: &str = "package acme:greet@1.0.0;\n\n\
        interface greeter {\n  use wasi:io/streams@0.2.0.{input-stream};\n\
        \x20 record options { loud: bool, times: u32 }\n  resource counter {\n    constructor();\n    bump: func() -> u32;\n  }\n\
        \x20 type name = string;\n  @since(version = 1.0.0)\n  greet: func(who: name, opts: options) -> string;\n}\n\n\
        world hello {\n  import wasi:cli/stdout@0.2.0;\n  import log: func(msg: string);\n  export greeter;\n\
        \x20 include wasi:cli/imports@0.2.0 with { stdout as out }\n  export run: func();\n}\n";

    #[test]
    fn interfaces_and_worlds_are_outlined() {
        let tokens = tokenize(WIT);
        let outline = outline(&tokens);
        let [greeter, hello] = outline.sections.as_slice() else {
            panic!("two sections: {:?}", outline.sections);
        };
        assert_eq!(greeter.kind, SectionKind::Interface);
        let types: Vec<(&str, &str)> = greeter
            .types
            .iter()
            .map(|t| (t.kind.as_str(), t.name.as_str()))
            .collect();
        assert_eq!(
            types,
            [
                ("record", "options"),
                ("resource", "counter"),
                ("type", "name")
            ]
        );
        let functions: Vec<&str> = greeter.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            functions,
            ["greet"],
            "resource methods stay in the resource"
        );
        assert_eq!(hello.kind, SectionKind::World);
        let imports: Vec<(&str, &str)> = hello
            .imports
            .iter()
            .map(|t| (t.kind.as_str(), t.name.as_str()))
            .collect();
        assert_eq!(
            imports,
            [("interface", "wasi:cli/stdout@0.2.0"), ("func", "log")]
        );
        let exports: Vec<&str> = hello.exports.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(exports, ["greeter", "run"]);
        assert_eq!(
            hello.exports[0].anchor.as_deref(),
            Some("wit-greeter"),
            "a local interface links to its definition"
        );
        assert_eq!(hello.includes, ["wasi:cli/imports@0.2.0"]);
        // Every anchor is on the token that names the definition.
        for (index, id) in &outline.decorations.anchors {
            assert!(
                id.ends_with(tokens[*index].text),
                "{id} on {:?}",
                tokens[*index]
            );
        }
    }

    #[test]
    fn nonsense_does_not_panic() {
        for text in [
            "}}}{{",
            "interface",
            "world w { import",
            "@since(",
            "a: func",
        ] {
            let _ = outline(&tokenize(text));
        }
    }
}
