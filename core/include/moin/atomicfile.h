#pragma once
// Crash-safe file writes: the target holds either its old content or the complete new one,
// never a torn file, whatever happens (a killed process, a full disk).
#include <string>
#include <string_view>

namespace moin {

/// Writes `<path>.tmp-<pid>`, then on commit() fsyncs it, renames it over `path` and fsyncs the
/// folder. Destroyed without commit() (an exception, say), it removes the temporary file.
/// Errors are moin::Error naming the step, the reason, and a hint ("free some disk space").
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(std::string path);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }
    void commit();
    const std::string& path() const { return m_path; }

private:
    [[noreturn]] void fail(const char* step, int error) const;
    std::string m_path;
    std::string m_temporaryPath;
    int m_fd = -1;
    bool m_committed = false;
};

/// Writes `content` to `path` atomically (see AtomicFileWriter).
void writeFileAtomically(const std::string& path, std::string_view content);
/// Copies `from` to `to` atomically; throws moin::Error if `from` cannot be read.
void copyFileAtomically(const std::string& from, const std::string& to);
/// The whole content of a file; throws moin::Error naming the file if it cannot be read.
std::string readFile(const std::string& path);

} // namespace moin
