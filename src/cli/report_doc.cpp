// Markdown and HTML renderings of a ReportDoc (see report_doc.h).
#include "cli/report_doc.h"

#include <algorithm>

#include "core/error.h"

namespace tandem::cli {

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Inline text for HTML: escaped, with `code` spans as <code> and **bold** as <strong> (outside code).
std::string html_inline(const std::string& s) {
  std::string out, run;
  bool in_code = false, in_bold = false;
  auto flush = [&] {
    out += html_escape(run);
    run.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '`') {
      flush();
      out += in_code ? "</code>" : "<code>";
      in_code = !in_code;
    } else if (!in_code && s.compare(i, 2, "**") == 0) {
      flush();
      out += in_bold ? "</strong>" : "<strong>";
      in_bold = !in_bold;
      ++i;
    } else {
      run += s[i];
    }
  }
  flush();
  if (in_code) out += "</code>";  // an unclosed span ends with the text
  if (in_bold) out += "</strong>";
  return out;
}

// A Markdown table cell: '|' would end the cell, a newline the row.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:4px 10px;text-align:left}"
    "th{background:#f0f0f0}code,pre{background:#f6f6f6;font-family:ui-monospace,monospace}"
    "pre{padding:.8em;overflow-x:auto}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}";

}  // namespace

std::string ReportDoc::markdown() const {
  std::string out = "# " + title_ + "\n";
  for (const Block& b : blocks_) {
    out += "\n";
    switch (b.kind) {
      case Kind::kHeading: out += std::string(size_t(std::max(1, b.level)), '#') + " " + b.text[0] + "\n"; break;
      case Kind::kParagraph: out += b.text[0] + "\n"; break;
      case Kind::kBullets:
        for (const auto& item : b.text) out += "- " + item + "\n";
        break;
      case Kind::kTable: {
        out += "|";
        for (const auto& h : b.text) out += " " + md_cell(h) + " |";
        out += "\n|";
        for (size_t i = 0; i < b.text.size(); ++i) out += " --- |";
        out += "\n";
        for (const auto& row : b.rows) {
          out += "|";
          for (size_t i = 0; i < b.text.size(); ++i) out += " " + md_cell(i < row.size() ? row[i] : "") + " |";
          out += "\n";
        }
        break;
      }
      case Kind::kImage: out += "![" + b.text[1] + "](" + b.text[0] + ")\n"; break;
      case Kind::kCode: out += "```\n" + b.text[0] + (b.text[0].ends_with("\n") ? "" : "\n") + "```\n"; break;
    }
  }
  return out;
}

std::string ReportDoc::html() const {
  std::string out = cat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", html_escape(title_),
                        "</title><style>", kStyle, "</style></head><body>\n<h1>", html_escape(title_), "</h1>\n");
  for (const Block& b : blocks_) {
    switch (b.kind) {
      case Kind::kHeading: {
        const int l = std::min(6, std::max(1, b.level));
        out += cat("<h", l, ">", html_inline(b.text[0]), "</h", l, ">\n");
        break;
      }
      case Kind::kParagraph: out += "<p>" + html_inline(b.text[0]) + "</p>\n"; break;
      case Kind::kBullets:
        out += "<ul>\n";
        for (const auto& item : b.text) out += "<li>" + html_inline(item) + "</li>\n";
        out += "</ul>\n";
        break;
      case Kind::kTable:
        out += "<table>\n<tr>";
        for (const auto& h : b.text) out += "<th>" + html_inline(h) + "</th>";
        out += "</tr>\n";
        for (const auto& row : b.rows) {
          out += "<tr>";
          for (size_t i = 0; i < b.text.size(); ++i) out += "<td>" + html_inline(i < row.size() ? row[i] : "") + "</td>";
          out += "</tr>\n";
        }
        out += "</table>\n";
        break;
      case Kind::kImage:
        out += "<p><img src=\"" + html_escape(b.text[0]) + "\" alt=\"" + html_escape(b.text[1]) + "\"></p>\n";
        break;
      case Kind::kCode: out += "<pre>" + html_escape(b.text[0]) + "</pre>\n"; break;
    }
  }
  return out + "</body></html>\n";
}

}  // namespace tandem::cli
