#pragma once
// A small RAII layer over SQLite: connections, prepared statements, transactions. Every failure
// becomes a moin::Error naming the statement and SQLite's reason. sqlite3.h stays out of here.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace moin {

class Database;

/// A prepared statement. Parameters are 1-based (as in SQLite); columns are 0-based.
/// Valid as long as the Database that prepared it lives.
class Statement {
public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bindBlob(int index, const void* data, size_t size);
    Statement& bindNull(int index);

    /// Advances to the next row; false when there are no more rows (or the statement was not a
    /// query). Throws moin::Error on failure.
    bool step();
    /// Runs a statement that returns no rows to completion.
    void run();
    /// Resets the statement for another run with new bindings.
    void reset();

    bool isNull(int column) const;
    int64_t columnInt64(int column) const;
    double columnDouble(int column) const;
    std::string columnText(int column) const;
    std::vector<uint8_t> columnBlob(int column) const;

private:
    friend class Database;
    Statement(sqlite3_stmt* statement, sqlite3* db);
    void check(int code, const char* what) const;
    sqlite3_stmt* m_statement = nullptr;
    sqlite3* m_db = nullptr;
};

/// One connection to an SQLite file. Move-only. Not for concurrent use from two threads at once;
/// other threads and processes open their own connection (WAL lets readers and one writer mix).
class Database {
public:
    enum class OpenMode { ReadWrite, ReadWriteCreate, ReadOnly };

    /// Opens `path`; waits up to `busyTimeoutMs` for locks held by other connections.
    static Database open(const std::string& path, OpenMode mode, int busyTimeoutMs = 10000);

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs one or more statements that return no rows.
    void exec(std::string_view sql);
    Statement prepare(std::string_view sql);
    /// The first column of the first row of `sql`, or nothing when it returns no row.
    std::optional<std::string> queryText(std::string_view sql);
    std::optional<int64_t> queryInt64(std::string_view sql);
    int64_t lastInsertRowId() const;
    /// Number of rows the last INSERT/UPDATE/DELETE changed.
    int64_t changes() const;
    const std::string& path() const { return m_path; }
    void close();

private:
    friend class Transaction;
    Database(sqlite3* db, std::string path);
    sqlite3* m_db = nullptr;
    std::string m_path;
};

/// BEGIN IMMEDIATE on construction, COMMIT on commit(), ROLLBACK if destroyed before commit()
/// (an exception unwinding through it leaves the database as it was). Refuses to begin while a
/// statement of the same connection is still mid-read: that read holds an old snapshot, and
/// SQLite fails the upgrade at once ("database is locked", no busy wait) whenever another
/// connection wrote in between; a race that would otherwise surface only under load.
class Transaction {
public:
    explicit Transaction(Database& db);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    void commit();

private:
    Database& m_db;
    bool m_done = false;
};

/// SQLite's library version, e.g. "3.40.1".
std::string sqliteVersion();

} // namespace moin
