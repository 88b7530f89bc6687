#include "moin/workspace.h"

#include "moin/basemodel.h"
#include "moin/error.h"
#include "moin/version.h"

#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fs = std::filesystem;

namespace moin {

namespace {

// Where SQLite keeps these values in its 100-byte file header (big-endian 32-bit integers).
constexpr size_t kHeaderSize = 100;
constexpr size_t kUserVersionOffset = 60;
constexpr size_t kApplicationIdOffset = 68;
constexpr char kSqliteMagic[] = "SQLite format 3";

uint32_t readBigEndian32(const std::array<unsigned char, kHeaderSize>& header, size_t offset)
{
    return (uint32_t(header[offset]) << 24) | (uint32_t(header[offset + 1]) << 16)
           | (uint32_t(header[offset + 2]) << 8) | uint32_t(header[offset + 3]);
}

std::string corruptHint(const std::string& path)
{
    return " (hint: restore it from a backup; `sqlite3 " + path
           + " .recover` may save its contents)";
}

// Checks the raw file header before SQLite touches the file, so that a refusal changes nothing
// on disk. Returns the user_version the header records.
// The file is read through SQLite's own file layer: closing a plain descriptor of a database
// file would drop every POSIX lock this process holds on it (a second Workspace opened while
// one is open), and another process could then delete the WAL under our connections. SQLite's
// unix layer keeps such a descriptor open until the locks are released.
int precheckHeader(const std::string& path)
{
    sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
    std::vector<char> storage(size_t(vfs->szOsFile));
    auto* file = reinterpret_cast<sqlite3_file*>(storage.data());
    int outFlags = 0;
    if (vfs->xOpen(vfs, path.c_str(), file, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB,
                   &outFlags)
        != SQLITE_OK) {
        if (file->pMethods)
            file->pMethods->xClose(file);
        throw Error("cannot read workspace database " + path + " (check its permissions)");
    }
    std::array<unsigned char, kHeaderSize> header{};
    sqlite3_int64 size = 0;
    file->pMethods->xFileSize(file, &size);
    const int readResult = file->pMethods->xRead(file, header.data(), int(header.size()), 0);
    file->pMethods->xClose(file);
    const size_t got = (readResult == SQLITE_OK || readResult == SQLITE_IOERR_SHORT_READ)
                           ? size_t(std::min<sqlite3_int64>(size, kHeaderSize))
                           : 0;
    if (got == 0) {
        throw Error("workspace database " + path
                    + " is empty: expected an SQLite database, found 0 bytes" + corruptHint(path));
    }
    if (got < kHeaderSize || std::string(header.begin(), header.begin() + 15) != kSqliteMagic) {
        throw Error("workspace database " + path
                    + " is corrupt or not an SQLite database: its first bytes are not "
                      "\"SQLite format 3\""
                    + corruptHint(path));
    }
    const auto applicationId = static_cast<int32_t>(readBigEndian32(header, kApplicationIdOffset));
    if (applicationId != Workspace::kApplicationId) {
        throw Error(path + " is an SQLite database but not a MoIN Studio workspace (its "
                    "application id is " + std::to_string(applicationId) + ", expected "
                    + std::to_string(Workspace::kApplicationId)
                    + "); create a workspace with `moin init DIR` in another folder");
    }
    return static_cast<int>(readBigEndian32(header, kUserVersionOffset));
}

void refuseNewer(const std::string& path, int version)
{
    if (version > Workspace::currentSchemaVersion()) {
        throw Error("workspace database " + path + " has schema version "
                    + std::to_string(version) + ", written by a newer MoIN Studio; this one ("
                    + moinVersion() + ") reads versions up to "
                    + std::to_string(Workspace::currentSchemaVersion())
                    + ". Upgrade MoIN Studio to open it; the file was left unchanged");
    }
}

void quickCheck(Database& db, const std::string& path)
{
    std::vector<std::string> problems;
    try {
        Statement check = db.prepare("PRAGMA quick_check(5)");
        while (check.step())
            problems.push_back(check.columnText(0));
    } catch (const Error& e) {
        throw Error("workspace database " + path + " is corrupt: " + e.what() + corruptHint(path));
    }
    if (problems.size() != 1 || problems.front() != "ok") {
        std::string summary;
        for (const std::string& problem : problems)
            summary += "\n  " + problem;
        throw Error("workspace database " + path + " is corrupt; SQLite's integrity check says:"
                    + summary + "\n" + corruptHint(path));
    }
}

void configureConnection(Database& db)
{
    db.exec("PRAGMA foreign_keys = ON");
    // WAL: readers never block the writer, so the app, the CLI and workers share the file.
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL loses no committed transaction on a crash of the process.
    db.exec("PRAGMA synchronous = NORMAL");
}

} // namespace

const std::vector<Migration>& Workspace::schemaMigrations()
{
    static const std::vector<Migration> steps = {
        {1, "workspace settings",
         [](Database& db) {
             db.exec("CREATE TABLE meta ("
                     "  key TEXT PRIMARY KEY NOT NULL,"
                     "  value TEXT NOT NULL"
                     ") WITHOUT ROWID");
         }},
        {2, "activity log",
         [](Database& db) {
             db.exec("CREATE TABLE activity ("
                     "  id INTEGER PRIMARY KEY,"
                     "  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
                     "  pid INTEGER NOT NULL,"
                     "  message TEXT NOT NULL"
                     ")");
         }},
        {3, "corpus: sources, documents, chunks, full-text search",
         [](Database& db) {
             db.exec("CREATE TABLE sources ("
                     "  id INTEGER PRIMARY KEY,"
                     "  path TEXT NOT NULL,"
                     "  format TEXT NOT NULL,"
                     "  content_sha256 TEXT NOT NULL UNIQUE,"
                     "  bytes INTEGER NOT NULL,"
                     "  text_field TEXT NOT NULL,"
                     "  chunk_tokens INTEGER NOT NULL,"
                     "  overlap_tokens INTEGER NOT NULL,"
                     "  documents INTEGER NOT NULL DEFAULT 0,"
                     "  chunks INTEGER NOT NULL DEFAULT 0,"
                     "  tokens INTEGER NOT NULL DEFAULT 0,"
                     "  lines_skipped INTEGER NOT NULL DEFAULT 0,"
                     "  imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                     ");"
                     "CREATE TABLE documents ("
                     "  id INTEGER PRIMARY KEY,"
                     "  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
                     "  line INTEGER NOT NULL"
                     ");"
                     "CREATE INDEX documents_source ON documents(source_id);"
                     "CREATE TABLE chunks ("
                     "  id INTEGER PRIMARY KEY,"
                     "  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
                     "  position INTEGER NOT NULL,"
                     "  tokens INTEGER NOT NULL,"
                     "  text TEXT NOT NULL,"
                     "  sha256 TEXT NOT NULL UNIQUE"
                     ");"
                     "CREATE INDEX chunks_document ON chunks(document_id);"
                     // Full-text search over chunk text for the Corpus view and the map.
                     "CREATE VIRTUAL TABLE chunks_fts USING fts5("
                     "  text, content='chunks', content_rowid='id');"
                     "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN"
                     "  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);"
                     "END;"
                     "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN"
                     "  INSERT INTO chunks_fts(chunks_fts, rowid, text)"
                     "  VALUES ('delete', old.id, old.text);"
                     "END;");
         }},
        {4, "clustering runs, clusters and chunk placements",
         [](Database& db) {
             db.exec("CREATE TABLE cluster_runs ("
                     "  id INTEGER PRIMARY KEY,"
                     "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
                     "  embedder TEXT NOT NULL,"
                     "  k INTEGER NOT NULL,"
                     "  balanced INTEGER NOT NULL,"
                     "  parameters TEXT NOT NULL,"
                     "  chunk_fingerprint TEXT NOT NULL,"
                     "  status TEXT NOT NULL,"
                     "  chunks INTEGER,"
                     "  dimensions INTEGER,"
                     "  seconds REAL,"
                     "  metrics TEXT,"
                     "  active INTEGER NOT NULL DEFAULT 0"
                     ");"
                     "CREATE TABLE clusters ("
                     "  run_id INTEGER NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,"
                     "  cluster INTEGER NOT NULL,"
                     "  size INTEGER NOT NULL,"
                     "  keywords TEXT NOT NULL,"
                     "  samples TEXT NOT NULL,"
                     "  x REAL NOT NULL,"
                     "  y REAL NOT NULL,"
                     "  PRIMARY KEY (run_id, cluster)"
                     ") WITHOUT ROWID;"
                     "CREATE TABLE chunk_clusters ("
                     "  run_id INTEGER NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,"
                     "  chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,"
                     "  cluster INTEGER NOT NULL,"
                     "  distance REAL NOT NULL,"
                     "  x REAL NOT NULL,"
                     "  y REAL NOT NULL,"
                     "  PRIMARY KEY (run_id, chunk_id)"
                     ") WITHOUT ROWID;"
                     "CREATE INDEX chunk_clusters_cluster ON chunk_clusters(run_id, cluster);");
         }},
        {5, "expert training: job queue and metrics",
         [](Database& db) {
             db.exec("CREATE TABLE training_jobs ("
                     "  id INTEGER PRIMARY KEY,"
                     "  run_id INTEGER NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,"
                     "  cluster INTEGER NOT NULL,"
                     "  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused',"
                     "    'done', 'failed', 'cancelled')),"
                     "  priority INTEGER NOT NULL DEFAULT 0,"
                     "  position INTEGER NOT NULL DEFAULT 0,"
                     "  request TEXT NOT NULL DEFAULT '',"
                     "  spec TEXT NOT NULL,"
                     "  attempts INTEGER NOT NULL DEFAULT 0,"
                     "  max_attempts INTEGER NOT NULL DEFAULT 3,"
                     "  step INTEGER NOT NULL DEFAULT 0,"
                     "  total_steps INTEGER NOT NULL DEFAULT 0,"
                     "  loss REAL,"
                     "  held_out_loss REAL,"
                     "  learning_rate REAL,"
                     "  tokens_per_second REAL,"
                     "  base_perplexity REAL,"
                     "  expert_perplexity REAL,"
                     "  worker_pid INTEGER NOT NULL DEFAULT 0,"
                     "  worker_host TEXT NOT NULL DEFAULT '',"
                     "  device TEXT NOT NULL DEFAULT '',"
                     "  log_offset INTEGER NOT NULL DEFAULT 0,"
                     "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
                     "  started_at TEXT,"
                     "  finished_at TEXT,"
                     "  error TEXT NOT NULL DEFAULT '',"
                     "  adapter_path TEXT NOT NULL DEFAULT ''"
                     ");"
                     "CREATE INDEX training_jobs_order ON training_jobs(priority DESC, position, id);"
                     "CREATE INDEX training_jobs_state ON training_jobs(state);"
                     "CREATE INDEX training_jobs_cluster ON training_jobs(run_id, cluster);"
                     "CREATE TABLE training_metrics ("
                     "  job_id INTEGER NOT NULL REFERENCES training_jobs(id) ON DELETE CASCADE,"
                     "  step INTEGER NOT NULL,"
                     "  loss REAL,"
                     "  learning_rate REAL,"
                     "  tokens_per_second REAL,"
                     "  held_out_loss REAL,"
                     "  seconds REAL,"
                     "  PRIMARY KEY (job_id, step)"
                     ") WITHOUT ROWID;");
         }},
        {6, "conversations and their messages",
         [](Database& db) {
             db.exec("CREATE TABLE conversations ("
                     "  id INTEGER PRIMARY KEY,"
                     "  title TEXT NOT NULL,"
                     "  system_prompt TEXT NOT NULL DEFAULT '',"
                     "  options TEXT NOT NULL,"
                     "  expert_choice TEXT NOT NULL DEFAULT 'auto',"
                     "  source TEXT NOT NULL DEFAULT 'app',"
                     "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
                     "  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                     ");"
                     "CREATE INDEX conversations_updated ON conversations(updated_at);"
                     "CREATE TABLE messages ("
                     "  id INTEGER PRIMARY KEY,"
                     "  conversation_id INTEGER NOT NULL REFERENCES conversations(id) "
                     "    ON DELETE CASCADE,"
                     "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
                     "  content TEXT NOT NULL,"
                     "  answered_by TEXT NOT NULL DEFAULT '',"
                     "  expert_choice TEXT NOT NULL DEFAULT '',"
                     "  distance REAL,"
                     "  candidates TEXT NOT NULL DEFAULT '[]',"
                     "  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
                     "  completion_tokens INTEGER NOT NULL DEFAULT 0,"
                     "  latency_seconds REAL NOT NULL DEFAULT 0,"
                     "  first_token_seconds REAL NOT NULL DEFAULT 0,"
                     "  tokens_per_second REAL NOT NULL DEFAULT 0,"
                     "  stop_reason TEXT NOT NULL DEFAULT '',"
                     "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                     ");"
                     "CREATE INDEX messages_conversation ON messages(conversation_id, id);");
         }},
        {7, "expert x cluster perplexities (specialisation matrix)",
         [](Database& db) {
             // expert -1 is the base. model_key names the adapter (or base) file and the
             // held-out split a perplexity was computed with: a cell whose key no longer
             // matches is scored again.
             db.exec("CREATE TABLE specialisation_cells ("
                     "  run_id INTEGER NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,"
                     "  expert INTEGER NOT NULL,"
                     "  cluster INTEGER NOT NULL,"
                     "  model_key TEXT NOT NULL,"
                     "  perplexity REAL NOT NULL,"
                     "  tokens INTEGER NOT NULL,"
                     "  computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
                     "  PRIMARY KEY (run_id, expert, cluster)"
                     ") WITHOUT ROWID;");
         }},
        {8, "messages: the clustering run that routed each answer",
         [](Database& db) {
             // Expert ids mean nothing without their run. NULL for messages recorded before:
             // expert health infers their run by time (see experthealth.cpp).
             db.exec("ALTER TABLE messages ADD COLUMN run_id INTEGER "
                     "  REFERENCES cluster_runs(id) ON DELETE SET NULL;"
                     "CREATE INDEX messages_run ON messages(run_id);");
         }},
        {9, "chunks HDBSCAN called noise",
         [](Database& db) {
             // Such a chunk keeps its nearest cluster in `cluster` (for training and routing);
             // the flag lets the map show it as noise.
             db.exec("ALTER TABLE chunk_clusters ADD COLUMN noise INTEGER NOT NULL DEFAULT 0");
         }},
    };
    return steps;
}

int Workspace::currentSchemaVersion() { return schemaMigrations().back().version; }

void Workspace::migrate(Database& db, const std::vector<Migration>& steps)
{
    Transaction transaction(db);
    // Read inside the write transaction: another process may have upgraded meanwhile.
    const int from = static_cast<int>(db.queryInt64("PRAGMA user_version").value_or(0));
    int version = from;
    for (const Migration& step : steps) {
        if (step.version <= version)
            continue;
        if (step.version != version + 1) {
            throw Error("workspace schema step " + std::to_string(step.version)
                        + " does not follow version " + std::to_string(version)
                        + " (a gap in the migration list; this is a bug)");
        }
        try {
            step.apply(db);
        } catch (const Error& e) {
            throw Error("upgrading workspace " + db.path() + " to schema version "
                        + std::to_string(step.version) + " (" + step.description
                        + ") failed; nothing was changed: " + e.what());
        }
        version = step.version;
    }
    if (version == from)
        return;
    db.exec("PRAGMA user_version = " + std::to_string(version));
    const bool hasActivity =
        db.queryInt64("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'activity'")
            .has_value();
    if (hasActivity && from > 0) {
        db.prepare("INSERT INTO activity (pid, message) VALUES (?, ?)")
            .bind(1, static_cast<int64_t>(getpid()))
            .bind(2, "upgraded schema from version " + std::to_string(from) + " to "
                         + std::to_string(version) + " (MoIN Studio " + moinVersion() + ")")
            .run();
    }
    transaction.commit();
}

Workspace::Workspace(std::string directory, Database db, int openedFromVersion)
    : m_directory(std::move(directory)), m_db(std::move(db)),
      m_openedFromVersion(openedFromVersion)
{
}

Workspace::Workspace(Workspace&&) noexcept = default;
Workspace& Workspace::operator=(Workspace&&) noexcept = default;
Workspace::~Workspace() = default;

bool Workspace::exists(const std::string& directory)
{
    std::error_code ec;
    return fs::is_regular_file(fs::path(directory) / kDatabaseFileName, ec);
}

Workspace Workspace::create(const std::string& directory, const WorkspaceOptions& options)
{
    if (directory.empty())
        throw Error("no workspace folder given");
    const fs::path dir = fs::absolute(directory);
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw Error(dir.string() + " exists and is not a folder; choose a folder for the workspace");
    if (exists(dir.string())) {
        throw Error(dir.string() + " is already a MoIN Studio workspace; open it instead of "
                                   "creating it again");
    }
    // Check the base before anything is written: a bad base leaves no half workspace.
    const BaseModelInfo base = inspectBaseModel(
        options.baseModel.empty() ? builtinBaseModelDirectory() : options.baseModel);
    fs::create_directories(dir, ec);
    if (ec)
        throw Error("cannot create workspace folder " + dir.string() + ": " + ec.message());

    const fs::path finalPath = dir / kDatabaseFileName;
    const fs::path tempPath =
        dir / (std::string(kDatabaseFileName) + ".creating-" + std::to_string(getpid()));
    fs::remove(tempPath, ec);
    try {
        Database db = Database::open(tempPath.string(), Database::OpenMode::ReadWriteCreate);
        db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
        migrate(db, schemaMigrations());
        const std::string name = options.name.empty() ? dir.filename().string() : options.name;
        {
            Transaction transaction(db);
            auto setting = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
            const std::pair<const char*, std::string> settings[] = {
                {"name", name},
                {"created_at", db.queryText("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
                                   .value_or("")},
                {"created_by", "MoIN Studio " + moinVersion()},
                {"base_model", base.directory},
            };
            for (const auto& [key, value] : settings) {
                setting.bind(1, key).bind(2, value).run();
                setting.reset();
            }
            db.prepare("INSERT INTO activity (pid, message) VALUES (?, ?)")
                .bind(1, static_cast<int64_t>(getpid()))
                .bind(2, "created workspace '" + name + "'")
                .run();
            transaction.commit();
        }
        db.exec("PRAGMA journal_mode = WAL");
        db.close();
    } catch (...) {
        fs::remove(tempPath, ec);
        fs::remove(tempPath.string() + "-journal", ec);
        throw;
    }
    // Atomic publish: a crash before this line leaves only the temporary file.
    fs::rename(tempPath, finalPath, ec);
    if (ec) {
        fs::remove(tempPath, ec);
        throw Error("cannot create " + finalPath.string() + ": " + ec.message());
    }
    for (const char* sub : {"adapters", "indexes", "logs"})
        fs::create_directories(dir / sub, ec);
    return open(dir.string());
}

Workspace Workspace::open(const std::string& directory)
{
    if (directory.empty())
        throw Error("no workspace folder given");
    const fs::path dir = fs::absolute(directory);
    std::error_code ec;
    if (!fs::exists(dir, ec))
        throw Error("workspace folder " + dir.string() + " does not exist; create a workspace "
                    "with `moin init " + dir.string() + "`");
    if (!fs::is_directory(dir, ec))
        throw Error(dir.string() + " is a file, not a workspace folder");
    const std::string path = (dir / kDatabaseFileName).string();
    if (!fs::exists(path, ec)) {
        throw Error(dir.string() + " is not a MoIN Studio workspace: it has no "
                    + kDatabaseFileName + "; create one with `moin init " + dir.string() + "`");
    }
    refuseNewer(path, precheckHeader(path));

    Database db = [&] {
        try {
            return Database::open(path, Database::OpenMode::ReadWrite);
        } catch (const Error& e) {
            throw Error(std::string(e.what()) + corruptHint(path));
        }
    }();
    quickCheck(db, path);
    // The header on disk may lag behind a WAL that another process has not checkpointed.
    const int version = static_cast<int>(db.queryInt64("PRAGMA user_version").value_or(0));
    refuseNewer(path, version);
    if (version < 1) {
        throw Error("workspace database " + path
                    + " has no schema (version 0): it was never finished; delete it and run "
                      "`moin init` again");
    }
    configureConnection(db);
    if (version < currentSchemaVersion())
        migrate(db, schemaMigrations());
    return Workspace(dir.string(), std::move(db), version);
}

std::string Workspace::databasePath() const
{
    return (fs::path(m_directory) / kDatabaseFileName).string();
}

std::string Workspace::adaptersDirectory() const
{
    return (fs::path(m_directory) / "adapters").string();
}

std::string Workspace::indexesDirectory() const
{
    return (fs::path(m_directory) / "indexes").string();
}

std::string Workspace::logsDirectory() const { return (fs::path(m_directory) / "logs").string(); }

int Workspace::schemaVersion()
{
    return static_cast<int>(m_db.queryInt64("PRAGMA user_version").value_or(0));
}

std::string Workspace::name() { return meta("name").value_or(fs::path(m_directory).filename()); }

std::string Workspace::baseModelDirectory()
{
    const auto base = meta("base_model");
    if (!base || base->empty()) {
        throw Error("workspace " + m_directory
                    + " records no base model (hint: it was created by an older version; "
                      "create a new workspace with `moin init --base`)");
    }
    return *base;
}

std::string Workspace::tokenizerPath()
{
    return (fs::path(baseModelDirectory()) / "tokenizer.model").string();
}

std::optional<std::string> Workspace::meta(const std::string& key)
{
    Statement query = m_db.prepare("SELECT value FROM meta WHERE key = ?");
    query.bind(1, key);
    if (!query.step())
        return std::nullopt;
    return query.columnText(0);
}

void Workspace::setMeta(const std::string& key, const std::string& value)
{
    m_db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(1, key)
        .bind(2, value)
        .run();
}

void Workspace::logActivity(const std::string& message)
{
    m_db.prepare("INSERT INTO activity (pid, message) VALUES (?, ?)")
        .bind(1, static_cast<int64_t>(getpid()))
        .bind(2, message)
        .run();
}

std::vector<ActivityEntry> Workspace::activity(int limit)
{
    Statement query = m_db.prepare("SELECT at, pid, message FROM ("
                                   "  SELECT id, at, pid, message FROM activity"
                                   "  ORDER BY id DESC LIMIT ?"
                                   ") ORDER BY id");
    query.bind(1, limit);
    std::vector<ActivityEntry> entries;
    while (query.step())
        entries.push_back({query.columnText(0), query.columnInt64(1), query.columnText(2)});
    return entries;
}

} // namespace moin
