//! A report as blocks (headings, paragraphs, lists, tables) rendered both
//! as Markdown and as a printable HTML page (A4, no script, no outside
//! resource), so every operations report reads the same in both.

/// One block of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(String),
    Para(String),
    List(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// A report: a title and its blocks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cell(s: &str) -> String {
    s.replace('|', "/").replace('\n', " ")
}

impl Doc {
    pub fn new(title: impl Into<String>) -> Doc {
        Doc {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn heading(&mut self, s: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Heading(s.into()));
        self
    }

    pub fn para(&mut self, s: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Para(s.into()));
        self
    }

    pub fn list(&mut self, items: Vec<String>) -> &mut Self {
        self.blocks.push(Block::List(items));
        self
    }

    pub fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) -> &mut Self {
        self.blocks.push(Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows,
        });
        self
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for b in &self.blocks {
            out.push('\n');
            match b {
                Block::Heading(h) => out.push_str(&format!("## {h}\n")),
                Block::Para(p) => out.push_str(&format!("{p}\n")),
                Block::List(items) => {
                    for i in items {
                        out.push_str(&format!("- {i}\n"));
                    }
                }
                Block::Table { head, rows } => {
                    out.push_str(&format!(
                        "| {} |\n|{}\n",
                        head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "),
                        " --- |".repeat(head.len())
                    ));
                    if rows.is_empty() {
                        out.push_str(&format!("| （无 none） |{}\n", " |".repeat(head.len() - 1)));
                    }
                    for r in rows {
                        out.push_str(&format!(
                            "| {} |\n",
                            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                        ));
                    }
                }
            }
        }
        out
    }

    pub fn html(&self) -> String {
        let mut body = format!("<h1>{}</h1>", esc(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading(h) => body.push_str(&format!("<h2>{}</h2>", esc(h))),
                Block::Para(p) => body.push_str(&format!("<p>{}</p>", esc(p))),
                Block::List(items) => {
                    body.push_str("<ul>");
                    for i in items {
                        body.push_str(&format!("<li>{}</li>", esc(i)));
                    }
                    body.push_str("</ul>");
                }
                Block::Table { head, rows } => {
                    body.push_str("<table><thead><tr>");
                    for h in head {
                        body.push_str(&format!("<th>{}</th>", esc(h)));
                    }
                    body.push_str("</tr></thead><tbody>");
                    if rows.is_empty() {
                        body.push_str(&format!(
                            "<tr><td colspan=\"{}\">（无）</td></tr>",
                            head.len()
                        ));
                    }
                    for r in rows {
                        body.push_str("<tr>");
                        for c in r {
                            body.push_str(&format!("<td>{}</td>", esc(c)));
                        }
                        body.push_str("</tr>");
                    }
                    body.push_str("</tbody></table>");
                }
            }
        }
        format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title>\
             <style>@page{{size:A4;margin:15mm}}body{{font-family:\"Noto Sans CJK SC\",\"WenQuanYi Zen Hei\",sans-serif;margin:2em;font-size:11pt}}\
             table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #999;padding:3px 8px;text-align:left}}\
             th{{background:#eee}}h2{{border-bottom:1px solid #ccc;margin-top:1.5em}}tr{{page-break-inside:avoid}}</style></head>\
             <body>{body}</body></html>\n",
            esc(&self.title)
        )
    }

    /// Writes `<dir>/<stem>.md` and `<dir>/<stem>.html`; answers both paths.
    pub fn write(
        &self,
        dir: &std::path::Path,
        stem: &str,
    ) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let (md, html) = (
            dir.join(format!("{stem}.md")),
            dir.join(format!("{stem}.html")),
        );
        std::fs::write(&md, self.markdown())?;
        std::fs::write(&html, self.html())?;
        Ok((md, html))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_carry_every_block_and_html_is_escaped() {
        let mut d = Doc::new("巡检报告");
        d.heading("备份")
            .para("最新备份 <a>")
            .list(vec!["一".into()])
            .table(&["项", "值"], vec![vec!["a|b".into(), "1".into()]]);
        let md = d.markdown();
        assert!(md.contains("## 备份") && md.contains("| a/b | 1 |") && md.contains("- 一"));
        let html = d.html();
        assert!(html.contains("最新备份 &lt;a&gt;") && html.contains("<td>a|b</td>"));
    }
}
