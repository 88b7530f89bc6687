#pragma once
// The corpus of a workspace: files imported, cut into documents and chunks of N tokens of the
// workspace's tokenizer, exact duplicates removed. Chunks are what gets embedded, clustered and
// trained on.
#include "moin/cancel.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moin {

class Workspace;

/// How files are read and cut into chunks.
struct ImportOptions {
    /// JSON Lines field that holds the text. Default "text".
    std::string textField = "text";
    /// Tokens per chunk (of the workspace's tokenizer). Default 256.
    int chunkTokens = 256;
    /// Tokens shared by consecutive chunks of one document; less than chunkTokens. Default 0.
    int overlapTokens = 0;
    /// Chunks shorter than this (a document's tail) are dropped. Default 16.
    int minChunkTokens = 16;

    void validate() const;
};

/// A file or line that was skipped or refused, and why.
struct ImportProblem {
    std::string path;
    /// 1-based line for JSON Lines; 0 for the whole file.
    int64_t line = 0;
    std::string message;
};

struct ImportProgress {
    int64_t filesDone = 0;
    int64_t filesTotal = 0;
    int64_t bytesDone = 0;
    int64_t bytesTotal = 0;
    int64_t chunksAdded = 0;
    std::string currentFile;
};

struct ImportReport {
    /// Files whose chunks were added.
    int64_t filesImported = 0;
    /// Files already in the workspace (same content), left alone.
    int64_t filesAlreadyImported = 0;
    /// Files refused whole (missing, empty, binary, unknown type, invalid UTF-8 text file).
    int64_t filesRefused = 0;
    /// JSON Lines skipped (malformed, no text field, invalid UTF-8, empty text).
    int64_t linesSkipped = 0;
    int64_t documentsAdded = 0;
    int64_t chunksAdded = 0;
    /// Chunks whose exact text the workspace already had.
    int64_t chunksDuplicate = 0;
    int64_t tokensAdded = 0;
    /// Every skip and refusal, with file and line (at most 1,000 kept; the counts are exact).
    std::vector<ImportProblem> problems;
    /// Cancelled: files finished before stay imported; the file in progress added nothing.
    bool cancelled = false;
};

/// Imports files and folders (recursively: .txt, .md, .jsonl). Each file is imported in one
/// transaction: a crash, a cancel or a full disk never leaves half a file. A file whose content
/// was imported before adds nothing. Throws moin::Error only for bad options or a database
/// failure; bad input is reported in ImportReport.
ImportReport importCorpus(Workspace& workspace, const std::vector<std::string>& paths,
                          const ImportOptions& options,
                          const std::function<void(const ImportProgress&)>& onProgress = {},
                          const CancelToken* cancel = nullptr);

/// Totals of a workspace's corpus.
struct CorpusStats {
    int64_t sources = 0;
    int64_t documents = 0;
    int64_t chunks = 0;
    int64_t tokens = 0;
};
CorpusStats corpusStats(Workspace& workspace);

/// One chunk, as listed and searched.
struct ChunkRecord {
    int64_t id = 0;
    std::string source;
    int64_t documentLine = 0;
    int64_t position = 0;
    int64_t tokens = 0;
    std::string text;
};

/// Chunks whose text matches `query` (SQLite FTS5 syntax; empty lists all), by id.
std::vector<ChunkRecord> findChunks(Workspace& workspace, const std::string& query,
                                    int64_t limit, int64_t offset = 0);
int64_t countChunks(Workspace& workspace, const std::string& query);

/// Per source file: path, documents, chunks, tokens.
struct SourceRecord {
    int64_t id = 0;
    std::string path;
    std::string format;
    int64_t documents = 0;
    int64_t chunks = 0;
    int64_t tokens = 0;
    int64_t linesSkipped = 0;
};
std::vector<SourceRecord> listSources(Workspace& workspace);

} // namespace moin
