#pragma once
// Reading text documents from corpus files: JSON Lines (one document per line, text in a named
// field) and plain text or Markdown (one document per file).
#include <cstdint>
#include <functional>
#include <string>

namespace moin {

/// One document of a corpus file.
struct TextDocument {
    /// UTF-8 text.
    std::string text;
    /// File it came from.
    std::string path;
    /// 1-based line of a JSON Lines file; 0 for whole-file documents.
    int64_t line = 0;
};

/// Calls `onDocument` for every document of `path`, streaming (a .jsonl file is read line by
/// line). `.jsonl`: each non-empty line is a JSON object whose `textField` is a string; `.txt`,
/// `.md`: the whole file. Throws moin::Error naming file and line for an unreadable file, a
/// malformed line, a missing or non-string field, or an unknown extension.
void readDocuments(const std::string& path, const std::string& textField,
                   const std::function<void(TextDocument&&)>& onDocument);

} // namespace moin
