// Corpus import: files -> documents -> token windows (chunks), deduplicated, one transaction per
// file.
#include "moin/corpus.h"

#include "moin/error.h"
#include "moin/tokenizer.h"
#include "moin/utf8.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

namespace moin {

namespace {

constexpr size_t kMaxProblems = 1000;
constexpr size_t kBinaryProbeBytes = 8192;

class Sha256 {
public:
    Sha256() : m_context(EVP_MD_CTX_new(), EVP_MD_CTX_free)
    {
        EVP_DigestInit_ex(m_context.get(), EVP_sha256(), nullptr);
    }
    void update(const void* data, size_t size) { EVP_DigestUpdate(m_context.get(), data, size); }
    std::string hex()
    {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        EVP_DigestFinal_ex(m_context.get(), digest, &size);
        static const char* const kHex = "0123456789abcdef";
        std::string out;
        for (unsigned int i = 0; i < size; ++i) {
            out += kHex[digest[i] >> 4];
            out += kHex[digest[i] & 15];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> m_context;
};

std::string sha256Hex(const std::string& text)
{
    Sha256 hash;
    hash.update(text.data(), text.size());
    return hash.hex();
}

std::string trim(const std::string& text)
{
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const size_t last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// Everything one file's import writes, bound to the open transaction.
class FileImport {
public:
    FileImport(Database& db, const Tokenizer& tokenizer, const ImportOptions& options,
               ImportReport& report)
        : m_db(db), m_tokenizer(tokenizer), m_options(options), m_report(report),
          m_insertDocument(db.prepare("INSERT INTO documents (source_id, line) VALUES (?, ?)")),
          m_insertChunk(db.prepare("INSERT OR IGNORE INTO chunks "
                                   "(document_id, position, tokens, text, sha256) "
                                   "VALUES (?, ?, ?, ?, ?)"))
    {
    }

    void begin(int64_t sourceId) { m_sourceId = sourceId; }

    void startDocument(int64_t line)
    {
        m_insertDocument.bind(1, m_sourceId).bind(2, line).run();
        m_insertDocument.reset();
        m_documentId = m_db.lastInsertRowId();
        m_position = 0;
        m_window.clear();
        ++m_documents;
    }

    /// Appends text to the current document, emitting every full window.
    void addText(const std::string& text)
    {
        const std::vector<int32_t> ids = m_tokenizer.encode(text);
        m_window.insert(m_window.end(), ids.begin(), ids.end());
        const size_t size = size_t(m_options.chunkTokens);
        const size_t stride = size - size_t(m_options.overlapTokens);
        while (m_window.size() >= size) {
            emit(std::vector<int32_t>(m_window.begin(), m_window.begin() + size));
            m_window.erase(m_window.begin(), m_window.begin() + stride);
        }
    }

    void endDocument()
    {
        // A tail is only worth a chunk if it has new tokens and enough of them.
        const size_t fresh = m_position == 0 ? m_window.size()
                                             : m_window.size() - size_t(m_options.overlapTokens);
        if (m_window.size() >= size_t(m_options.minChunkTokens) && fresh > 0)
            emit(m_window);
        m_window.clear();
    }

    int64_t documents() const { return m_documents; }
    int64_t chunks() const { return m_chunks; }
    int64_t tokens() const { return m_tokens; }

private:
    void emit(const std::vector<int32_t>& ids)
    {
        const std::string text = trim(m_tokenizer.decode(ids));
        if (text.empty())
            return;
        m_insertChunk.bind(1, m_documentId)
            .bind(2, m_position++)
            .bind(3, int64_t(ids.size()))
            .bind(4, text)
            .bind(5, sha256Hex(text));
        m_insertChunk.run();
        m_insertChunk.reset();
        if (m_db.changes() == 0) {
            ++m_report.chunksDuplicate;
            return;
        }
        ++m_chunks;
        m_tokens += int64_t(ids.size());
    }

    Database& m_db;
    const Tokenizer& m_tokenizer;
    const ImportOptions& m_options;
    ImportReport& m_report;
    Statement m_insertDocument;
    Statement m_insertChunk;
    int64_t m_sourceId = 0;
    int64_t m_documentId = 0;
    int64_t m_position = 0;
    std::vector<int32_t> m_window;
    int64_t m_documents = 0;
    int64_t m_chunks = 0;
    int64_t m_tokens = 0;
};

void addProblem(ImportReport& report, const std::string& path, int64_t line,
                const std::string& message)
{
    if (report.problems.size() < kMaxProblems)
        report.problems.push_back({path, line, message});
}

std::string formatOf(const fs::path& path)
{
    const std::string extension = path.extension().string();
    if (extension == ".jsonl")
        return "jsonl";
    if (extension == ".txt")
        return "text";
    if (extension == ".md")
        return "markdown";
    return {};
}

// Files to import, in a stable order; folders are walked for the supported types.
std::vector<fs::path> expand(const std::vector<std::string>& paths, ImportReport& report)
{
    std::vector<fs::path> files;
    for (const std::string& path : paths) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            ++report.filesRefused;
            addProblem(report, path, 0, "does not exist");
            continue;
        }
        if (fs::is_directory(path, ec)) {
            std::vector<fs::path> found;
            for (auto it = fs::recursive_directory_iterator(
                     path, fs::directory_options::skip_permission_denied, ec);
                 it != fs::recursive_directory_iterator(); it.increment(ec)) {
                if (it->is_regular_file(ec) && !formatOf(it->path()).empty())
                    found.push_back(it->path());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
            continue;
        }
        files.emplace_back(path);
    }
    return files;
}

// Reads the file once to hash it and look for signs of binary content.
std::string hashFile(const fs::path& path, bool* binary)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot be read");
    Sha256 hash;
    std::vector<char> buffer(1 << 20);
    bool first = true;
    *binary = false;
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const size_t got = size_t(in.gcount());
        if (first) {
            const size_t probe = std::min(got, kBinaryProbeBytes);
            *binary = std::find(buffer.begin(), buffer.begin() + probe, '\0')
                      != buffer.begin() + probe;
            first = false;
        }
        hash.update(buffer.data(), got);
    }
    if (in.bad())
        throw Error("reading failed");
    return hash.hex();
}

void importJsonLines(std::istream& in, const std::string& path, const ImportOptions& options,
                     FileImport& file, ImportReport& report, const CancelToken* cancel,
                     const std::function<void(int64_t)>& onBytes)
{
    std::string line;
    int64_t number = 0;
    int64_t bytes = 0;
    while (std::getline(in, line)) {
        ++number;
        bytes += int64_t(line.size()) + 1;
        if (number % 256 == 0) {
            if (cancel && cancel->isCancelled())
                return;
            onBytes(bytes);
        }
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        auto skip = [&](const std::string& why) {
            ++report.linesSkipped;
            addProblem(report, path, number, why);
        };
        nlohmann::json object;
        try {
            object = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            const std::string what = e.what();
            skip(what.find("UTF-8") != std::string::npos ? "invalid UTF-8"
                                                         : "malformed JSON: " + what);
            continue;
        }
        if (!object.is_object() || !object.contains(options.textField)) {
            skip("no \"" + options.textField + "\" field");
            continue;
        }
        if (!object[options.textField].is_string()) {
            skip("\"" + options.textField + "\" is not a string");
            continue;
        }
        const std::string text = object[options.textField].get<std::string>();
        if (trim(text).empty()) {
            skip("empty text");
            continue;
        }
        file.startDocument(number);
        file.addText(text);
        file.endDocument();
    }
}

// A text or Markdown file is one document, streamed paragraph by paragraph.
bool importText(std::istream& in, const std::string& path, FileImport& file,
                ImportReport& report, const CancelToken* cancel,
                const std::function<void(int64_t)>& onBytes)
{
    std::string line;
    std::string paragraph;
    int64_t number = 0;
    int64_t bytes = 0;
    file.startDocument(0);
    auto flush = [&] {
        if (!trim(paragraph).empty())
            file.addText(paragraph);
        paragraph.clear();
    };
    while (std::getline(in, line)) {
        ++number;
        bytes += int64_t(line.size()) + 1;
        if (!isValidUtf8(line)) {
            addProblem(report, path, number,
                       "invalid UTF-8 (hint: convert the file, e.g. with iconv)");
            return false;
        }
        if (trim(line).empty()) {
            flush();
            if (cancel && cancel->isCancelled())
                return true;
            onBytes(bytes);
            continue;
        }
        paragraph += line;
        paragraph += '\n';
    }
    flush();
    file.endDocument();
    return true;
}

} // namespace

void ImportOptions::validate() const
{
    if (chunkTokens < 8 || chunkTokens > 65536)
        throw Error("chunk size must be between 8 and 65,536 tokens; got "
                    + std::to_string(chunkTokens));
    if (overlapTokens < 0 || overlapTokens >= chunkTokens)
        throw Error("chunk overlap must be at least 0 and less than the chunk size ("
                    + std::to_string(chunkTokens) + "); got " + std::to_string(overlapTokens));
    if (minChunkTokens < 1 || minChunkTokens > chunkTokens)
        throw Error("the minimum chunk size must be between 1 and the chunk size");
    if (textField.empty())
        throw Error("the JSON Lines text field name is empty");
}

ImportReport importCorpus(Workspace& workspace, const std::vector<std::string>& paths,
                          const ImportOptions& options,
                          const std::function<void(const ImportProgress&)>& onProgress,
                          const CancelToken* cancel)
{
    options.validate();
    ImportReport report;
    const Tokenizer tokenizer = Tokenizer::load(workspace.tokenizerPath());
    Database& db = workspace.database();
    const std::vector<fs::path> files = expand(paths, report);

    ImportProgress progress;
    progress.filesTotal = int64_t(files.size());
    for (const fs::path& path : files) {
        std::error_code ec;
        progress.bytesTotal += int64_t(fs::file_size(path, ec));
    }
    auto tell = [&] {
        if (onProgress)
            onProgress(progress);
    };

    for (const fs::path& path : files) {
        if (cancel && cancel->isCancelled()) {
            report.cancelled = true;
            break;
        }
        const std::string name = path.string();
        progress.currentFile = name;
        tell();
        std::error_code ec;
        const int64_t size = int64_t(fs::file_size(path, ec));
        const int64_t bytesBefore = progress.bytesDone;
        auto refuse = [&](const std::string& why) {
            ++report.filesRefused;
            addProblem(report, name, 0, why);
        };
        const std::string format = formatOf(path);
        if (format.empty()) {
            refuse("unknown file type '" + path.extension().string()
                   + "' (expected .txt, .md or .jsonl)");
        } else if (ec || size == 0) {
            refuse(ec ? "cannot be read: " + ec.message() : "is empty");
        } else {
            bool binary = false;
            std::string hash;
            try {
                hash = hashFile(path, &binary);
            } catch (const Error& e) {
                refuse(e.what());
            }
            if (hash.empty()) {
                // refused above
            } else if (binary) {
                refuse("looks binary (it has NUL bytes); expected UTF-8 text");
            } else if (db.prepare("SELECT 1 FROM sources WHERE content_sha256 = ?")
                           .bind(1, hash)
                           .step()) {
                ++report.filesAlreadyImported;
            } else {
                Transaction transaction(db);
                db.prepare("INSERT INTO sources (path, format, content_sha256, bytes, "
                           "text_field, chunk_tokens, overlap_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .bind(1, fs::absolute(path).lexically_normal().string())
                    .bind(2, format)
                    .bind(3, hash)
                    .bind(4, size)
                    .bind(5, format == "jsonl" ? options.textField : std::string())
                    .bind(6, options.chunkTokens)
                    .bind(7, options.overlapTokens)
                    .run();
                const int64_t sourceId = db.lastInsertRowId();
                FileImport file(db, tokenizer, options, report);
                file.begin(sourceId);
                const int64_t skippedBefore = report.linesSkipped;
                auto onBytes = [&](int64_t bytes) {
                    progress.bytesDone = bytesBefore + bytes;
                    tell();
                };
                std::ifstream in(path, std::ios::binary);
                bool accepted = true;
                if (format == "jsonl")
                    importJsonLines(in, name, options, file, report, cancel, onBytes);
                else
                    accepted = importText(in, name, file, report, cancel, onBytes);
                if (cancel && cancel->isCancelled()) {
                    report.cancelled = true;
                    break; // the transaction rolls back: this file adds nothing
                }
                if (!accepted) {
                    ++report.filesRefused;
                } else {
                    db.prepare("UPDATE sources SET documents = ?, chunks = ?, tokens = ?, "
                               "lines_skipped = ? WHERE id = ?")
                        .bind(1, file.documents())
                        .bind(2, file.chunks())
                        .bind(3, file.tokens())
                        .bind(4, report.linesSkipped - skippedBefore)
                        .bind(5, sourceId)
                        .run();
                    transaction.commit();
                    ++report.filesImported;
                    report.documentsAdded += file.documents();
                    report.chunksAdded += file.chunks();
                    report.tokensAdded += file.tokens();
                    progress.chunksAdded = report.chunksAdded;
                }
            }
        }
        ++progress.filesDone;
        progress.bytesDone = bytesBefore + size;
        tell();
    }
    if (report.filesImported > 0) {
        workspace.logActivity("imported " + std::to_string(report.chunksAdded) + " chunks from "
                              + std::to_string(report.filesImported) + " file(s)");
    }
    return report;
}

CorpusStats corpusStats(Workspace& workspace)
{
    Database& db = workspace.database();
    CorpusStats stats;
    Statement query = db.prepare("SELECT COUNT(*), COALESCE(SUM(documents), 0), "
                                 "COALESCE(SUM(chunks), 0), COALESCE(SUM(tokens), 0) "
                                 "FROM sources");
    if (query.step()) {
        stats.sources = query.columnInt64(0);
        stats.documents = query.columnInt64(1);
        stats.chunks = query.columnInt64(2);
        stats.tokens = query.columnInt64(3);
    }
    return stats;
}

namespace {
constexpr const char* kChunkColumns =
    "SELECT c.id, s.path, d.line, c.position, c.tokens, c.text FROM chunks c "
    "JOIN documents d ON d.id = c.document_id JOIN sources s ON s.id = d.source_id ";

ChunkRecord chunkFrom(const Statement& row)
{
    return {row.columnInt64(0), row.columnText(1), row.columnInt64(2),
            row.columnInt64(3), row.columnInt64(4), row.columnText(5)};
}

// FTS5 query syntax is strict; a user's plain words are quoted so that "C++" or "it's" work.
std::string ftsQuery(const std::string& query)
{
    std::string out;
    std::string word;
    auto flushWord = [&] {
        if (word.empty())
            return;
        std::string quoted = "\"";
        for (char c : word)
            quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        out += (out.empty() ? "" : " ") + quoted + "\"";
        word.clear();
    };
    for (char c : query) {
        if (c == ' ' || c == '\t')
            flushWord();
        else
            word += c;
    }
    flushWord();
    return out;
}
} // namespace

std::vector<ChunkRecord> findChunks(Workspace& workspace, const std::string& query,
                                    int64_t limit, int64_t offset)
{
    Database& db = workspace.database();
    std::vector<ChunkRecord> rows;
    const std::string match = ftsQuery(query);
    Statement statement =
        match.empty()
            ? db.prepare(std::string(kChunkColumns) + "ORDER BY c.id LIMIT ? OFFSET ?")
            : db.prepare(std::string(kChunkColumns)
                         + "WHERE c.id IN (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?) "
                           "ORDER BY c.id LIMIT ? OFFSET ?");
    int index = 1;
    if (!match.empty())
        statement.bind(index++, match);
    statement.bind(index, limit);
    statement.bind(index + 1, offset);
    while (statement.step())
        rows.push_back(chunkFrom(statement));
    return rows;
}

int64_t countChunks(Workspace& workspace, const std::string& query)
{
    Database& db = workspace.database();
    const std::string match = ftsQuery(query);
    if (match.empty())
        return db.queryInt64("SELECT COUNT(*) FROM chunks").value_or(0);
    Statement statement =
        db.prepare("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?");
    statement.bind(1, match);
    return statement.step() ? statement.columnInt64(0) : 0;
}

std::vector<SourceRecord> listSources(Workspace& workspace)
{
    Statement query = workspace.database().prepare(
        "SELECT id, path, format, documents, chunks, tokens, lines_skipped FROM sources "
        "ORDER BY id");
    std::vector<SourceRecord> sources;
    while (query.step()) {
        sources.push_back({query.columnInt64(0), query.columnText(1), query.columnText(2),
                           query.columnInt64(3), query.columnInt64(4), query.columnInt64(5),
                           query.columnInt64(6)});
    }
    return sources;
}

} // namespace moin
