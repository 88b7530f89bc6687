#include "moin/database.h"

#include "moin/error.h"

#include <sqlite3.h>

#include <utility>

namespace moin {

namespace {

std::string describe(sqlite3* db, int code)
{
    std::string message = sqlite3_errstr(code);
    if (db) {
        const char* detail = sqlite3_errmsg(db);
        if (detail && message != detail)
            message += std::string(": ") + detail;
    }
    return message;
}

std::string abbreviate(std::string_view sql)
{
    std::string text(sql.substr(0, 120));
    for (char& c : text) {
        if (c == '\n' || c == '\t')
            c = ' ';
    }
    return sql.size() > 120 ? text + "..." : text;
}

} // namespace

// ---- Statement ----

Statement::Statement(sqlite3_stmt* statement, sqlite3* db) : m_statement(statement), m_db(db) {}

Statement::Statement(Statement&& other) noexcept
    : m_statement(std::exchange(other.m_statement, nullptr)), m_db(other.m_db)
{
}

Statement& Statement::operator=(Statement&& other) noexcept
{
    if (this != &other) {
        sqlite3_finalize(m_statement);
        m_statement = std::exchange(other.m_statement, nullptr);
        m_db = other.m_db;
    }
    return *this;
}

Statement::~Statement() { sqlite3_finalize(m_statement); }

void Statement::check(int code, const char* what) const
{
    if (code != SQLITE_OK) {
        const char* sql = sqlite3_sql(m_statement);
        throw Error(std::string("database error while ") + what + " (" + describe(m_db, code)
                    + ") in: " + abbreviate(sql ? sql : ""));
    }
}

Statement& Statement::bind(int index, int64_t value)
{
    check(sqlite3_bind_int64(m_statement, index, value), "binding a parameter");
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    check(sqlite3_bind_double(m_statement, index, value), "binding a parameter");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text)
{
    check(sqlite3_bind_text64(m_statement, index, text.data(), text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8),
          "binding a parameter");
    return *this;
}

Statement& Statement::bindBlob(int index, const void* data, size_t size)
{
    check(sqlite3_bind_blob64(m_statement, index, data, size, SQLITE_TRANSIENT),
          "binding a parameter");
    return *this;
}

Statement& Statement::bindNull(int index)
{
    check(sqlite3_bind_null(m_statement, index), "binding a parameter");
    return *this;
}

bool Statement::step()
{
    const int code = sqlite3_step(m_statement);
    if (code == SQLITE_ROW)
        return true;
    if (code == SQLITE_DONE)
        return false;
    check(code, "running a statement");
    return false;
}

void Statement::run()
{
    while (step()) {
    }
}

void Statement::reset()
{
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(m_statement, column) == SQLITE_NULL;
}

int64_t Statement::columnInt64(int column) const
{
    return sqlite3_column_int64(m_statement, column);
}

double Statement::columnDouble(int column) const
{
    return sqlite3_column_double(m_statement, column);
}

std::string Statement::columnText(int column) const
{
    const auto* text = sqlite3_column_text(m_statement, column);
    const int size = sqlite3_column_bytes(m_statement, column);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size))
                : std::string();
}

std::vector<uint8_t> Statement::columnBlob(int column) const
{
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(m_statement, column));
    const int size = sqlite3_column_bytes(m_statement, column);
    return data ? std::vector<uint8_t>(data, data + size) : std::vector<uint8_t>();
}

// ---- Database ----

Database::Database(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}

Database Database::open(const std::string& path, OpenMode mode, int busyTimeoutMs)
{
    int flags = SQLITE_OPEN_FULLMUTEX;
    switch (mode) {
    case OpenMode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case OpenMode::ReadWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case OpenMode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    }
    sqlite3* db = nullptr;
    const int code = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (code != SQLITE_OK) {
        const std::string reason = describe(db, code);
        sqlite3_close_v2(db);
        throw Error("cannot open database " + path + ": " + reason);
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busyTimeoutMs);
    return Database(db, path);
}

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path))
{
}

Database& Database::operator=(Database&& other) noexcept
{
    if (this != &other) {
        close();
        m_db = std::exchange(other.m_db, nullptr);
        m_path = std::move(other.m_path);
    }
    return *this;
}

Database::~Database() { close(); }

void Database::close()
{
    // close_v2 defers the close until the last statement is finalized, never fails for busy.
    sqlite3_close_v2(std::exchange(m_db, nullptr));
}

void Database::exec(std::string_view sql)
{
    char* message = nullptr;
    const std::string text(sql);
    const int code = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message);
    if (code != SQLITE_OK) {
        std::string reason = message ? message : describe(m_db, code);
        sqlite3_free(message);
        throw Error("database error in " + m_path + " (" + reason + ") in: " + abbreviate(sql));
    }
}

Statement Database::prepare(std::string_view sql)
{
    sqlite3_stmt* statement = nullptr;
    const int code = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()),
                                        &statement, nullptr);
    if (code != SQLITE_OK) {
        throw Error("database error in " + m_path + " (" + describe(m_db, code)
                    + ") preparing: " + abbreviate(sql));
    }
    return Statement(statement, m_db);
}

std::optional<std::string> Database::queryText(std::string_view sql)
{
    Statement statement = prepare(sql);
    if (!statement.step() || statement.isNull(0))
        return std::nullopt;
    return statement.columnText(0);
}

std::optional<int64_t> Database::queryInt64(std::string_view sql)
{
    Statement statement = prepare(sql);
    if (!statement.step() || statement.isNull(0))
        return std::nullopt;
    return statement.columnInt64(0);
}

int64_t Database::lastInsertRowId() const { return sqlite3_last_insert_rowid(m_db); }

int64_t Database::changes() const { return sqlite3_changes64(m_db); }

// ---- Transaction ----

Transaction::Transaction(Database& db) : m_db(db)
{
    for (sqlite3_stmt* statement = sqlite3_next_stmt(m_db.m_db, nullptr); statement;
         statement = sqlite3_next_stmt(m_db.m_db, statement)) {
        if (sqlite3_stmt_busy(statement))
            throw Error(std::string("internal error: a transaction on ") + m_db.path()
                        + " began while a statement still reads (" + sqlite3_sql(statement)
                        + "); reset or finish that statement first");
    }
    m_db.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction()
{
    if (!m_done) {
        try {
            m_db.exec("ROLLBACK");
        } catch (...) {
            // A failed COMMIT may already have rolled back; nothing more to undo.
        }
    }
}

void Transaction::commit()
{
    m_db.exec("COMMIT");
    m_done = true;
}

std::string sqliteVersion() { return sqlite3_libversion(); }

} // namespace moin
