#include "moin/atomicfile.h"

#include "moin/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moin {

namespace {

std::string writeHint(int error)
{
    switch (error) {
    case ENOSPC:
    case EDQUOT:
        return "free some disk space (or quota) and save again";
    case EFBIG:
        return "the file system or a file size limit (ulimit -f) does not allow a file this large";
    case ENOENT:
    case ENOTDIR:
        return "the folder does not exist; create it first or choose another one";
    case EACCES:
    case EPERM:
    case EROFS:
        return "the folder is not writable; choose another one or fix its permissions";
    case EISDIR:
        return "a folder has that name; choose a file name";
    default:
        return "check that the disk is present and writable";
    }
}

std::string folderOf(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

AtomicFileWriter::AtomicFileWriter(std::string path)
    : m_path(std::move(path)), m_temporaryPath(m_path + ".tmp-" + std::to_string(::getpid()))
{
    m_fd = ::open(m_temporaryPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (m_fd < 0)
        fail("creating the temporary file", errno);
}

AtomicFileWriter::~AtomicFileWriter()
{
    if (m_fd >= 0)
        ::close(m_fd);
    if (!m_committed)
        ::unlink(m_temporaryPath.c_str());
}

void AtomicFileWriter::fail(const char* step, int error) const
{
    throw Error("cannot write '" + m_path + "': " + step + " '" + m_temporaryPath
                + "' failed: " + std::strerror(error) + "; '" + m_path
                + "' was left unchanged (hint: " + writeHint(error) + ")");
}

void AtomicFileWriter::write(const void* data, size_t size)
{
    const char* cursor = static_cast<const char*>(data);
    while (size > 0) {
        // Linux writes at most ~2 GiB per call; smaller calls also keep a failure close to it.
        const size_t chunk = std::min<size_t>(size, size_t(1) << 30);
        const ssize_t written = ::write(m_fd, cursor, chunk);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            fail("writing the temporary file", errno);
        }
        if (written == 0)
            fail("writing the temporary file", ENOSPC); // a regular file writes 0 only when full
        cursor += written;
        size -= static_cast<size_t>(written);
    }
}

void AtomicFileWriter::commit()
{
    if (::fsync(m_fd) != 0)
        fail("flushing the temporary file to disk", errno);
    const int fd = m_fd;
    m_fd = -1;
    // NFS and some FUSE file systems report write errors only here.
    if (::close(fd) != 0)
        fail("flushing the temporary file to disk", errno);
    if (::rename(m_temporaryPath.c_str(), m_path.c_str()) != 0)
        fail("renaming the temporary file over the target", errno);
    m_committed = true;
    // Makes the rename itself durable; best effort, since some file systems refuse it.
    const int folder = ::open(folderOf(m_path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folder >= 0) {
        ::fsync(folder);
        ::close(folder);
    }
}

void writeFileAtomically(const std::string& path, std::string_view content)
{
    AtomicFileWriter writer(path);
    writer.write(content);
    writer.commit();
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read " + path + ": " + std::strerror(errno));
    std::stringstream content;
    content << in.rdbuf();
    if (in.bad())
        throw Error("cannot read " + path + ": " + std::strerror(errno));
    return content.str();
}

void copyFileAtomically(const std::string& from, const std::string& to)
{
    writeFileAtomically(to, readFile(from));
}

} // namespace moin
