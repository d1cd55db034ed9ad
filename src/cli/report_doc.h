// A small document: headings, paragraphs, tables, images and code blocks, rendered both as
// Markdown (report.md, readable in a terminal or on a forge) and as a standalone HTML page
// (report.html, opened in a browser with its charts inline). Text is plain: the renderers escape
// what each format needs; `code` spans (backticks) and **bold** are written as Markdown writes them.
// Not here: what a report says (demo_report.cpp).
#pragma once
#include <string>
#include <vector>

namespace tandem::cli {

class ReportDoc {
 public:
  explicit ReportDoc(std::string title) : title_(std::move(title)) {}
  void heading(const std::string& text, int level = 2) { blocks_.push_back({Kind::kHeading, {text}, {}, level}); }
  void paragraph(const std::string& text) { blocks_.push_back({Kind::kParagraph, {text}, {}, 0}); }
  void bullets(const std::vector<std::string>& items) { blocks_.push_back({Kind::kBullets, items, {}, 0}); }
  // header and rows of cells; a row shorter than the header is padded with empty cells.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    blocks_.push_back({Kind::kTable, header, rows, 0});
  }
  void image(const std::string& relative_path, const std::string& alt) {
    blocks_.push_back({Kind::kImage, {relative_path, alt}, {}, 0});
  }
  void code(const std::string& text) { blocks_.push_back({Kind::kCode, {text}, {}, 0}); }

  std::string markdown() const;
  std::string html() const;

 private:
  enum class Kind { kHeading, kParagraph, kBullets, kTable, kImage, kCode };
  struct Block {
    Kind kind;
    std::vector<std::string> text;
    std::vector<std::vector<std::string>> rows;
    int level;
  };
  std::string title_;
  std::vector<Block> blocks_;
};

}  // namespace tandem::cli
