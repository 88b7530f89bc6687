#pragma once
// A workspace: one folder holding `workspace.sqlite` (corpus, clustering runs, experts, jobs,
// conversations) and the files too large for it (adapters, indexes, embeddings, job logs).
#include "moin/database.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace moin {

/// One step of the workspace schema: applied inside the upgrade transaction.
struct Migration {
    /// Schema version after this step; steps are numbered 1, 2, 3, ... without gaps.
    int version = 0;
    /// One line for the activity log, e.g. "activity log".
    std::string description;
    /// Runs the step's SQL on the open transaction; throws to abort the whole upgrade.
    std::function<void(Database&)> apply;
};

/// Options for Workspace::create.
struct WorkspaceOptions {
    /// Display name; empty uses the folder's name.
    std::string name;
    /// Base model folder (Hugging Face Llama); empty uses the built-in small base.
    std::string baseModel;
};

/// One line of the workspace's activity log.
struct ActivityEntry {
    /// UTC time, ISO 8601 with milliseconds.
    std::string at;
    /// Process that wrote it.
    int64_t pid = 0;
    std::string message;
};

/// An open workspace. Move-only; each instance owns one SQLite connection. Several instances,
/// in this process or others (training workers), may have one workspace open at once.
class Workspace {
public:
    /// File name of the database inside the workspace folder.
    static constexpr const char* kDatabaseFileName = "workspace.sqlite";
    /// SQLite application_id that marks a MoIN workspace database ("MoIN" in ASCII).
    static constexpr int32_t kApplicationId = 0x4D6F494E;

    /// The schema version this program writes (the last of schemaMigrations()).
    static int currentSchemaVersion();
    /// Every step from an empty database to the current schema, in order.
    static const std::vector<Migration>& schemaMigrations();

    /// Creates a workspace in `directory` (created if missing). The database is built under a
    /// temporary name and renamed into place, so an interrupted create leaves no half workspace.
    /// Throws moin::Error if `directory` already holds a workspace or cannot be written.
    static Workspace create(const std::string& directory, const WorkspaceOptions& options = {});

    /// Opens an existing workspace and upgrades an older schema in one transaction. Refuses,
    /// with a moin::Error and without changing anything on disk: a folder that is not a
    /// workspace, a database written by a newer program, a corrupt database.
    static Workspace open(const std::string& directory);

    /// True if `directory` has a workspace database (says nothing of its health).
    static bool exists(const std::string& directory);

    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;
    ~Workspace();

    const std::string& directory() const { return m_directory; }
    std::string databasePath() const;
    /// Sub-folders for data kept outside SQLite; created on demand.
    std::string adaptersDirectory() const;
    std::string indexesDirectory() const;
    std::string logsDirectory() const;

    int schemaVersion();
    std::string name();
    /// Schema version the file had before open() upgraded it (equal to schemaVersion() if none).
    int openedFromVersion() const { return m_openedFromVersion; }

    /// The base model folder the workspace was created with (absolute path).
    std::string baseModelDirectory();
    /// The workspace's tokenizer: its base model's tokenizer.model.
    std::string tokenizerPath();

    /// Key/value settings of the workspace (name, created_at, base model, ...).
    std::optional<std::string> meta(const std::string& key);
    void setMeta(const std::string& key, const std::string& value);

    /// Appends to the activity log (who did what when), newest last.
    void logActivity(const std::string& message);
    /// The newest `limit` entries, oldest first.
    std::vector<ActivityEntry> activity(int limit = 100);

    /// The connection, for the modules that keep their tables in the workspace.
    Database& database() { return m_db; }

    /// Applies `steps` whose version is above the database's user_version, in one transaction;
    /// on any failure the database is left exactly as it was. Exposed for tests.
    static void migrate(Database& db, const std::vector<Migration>& steps);

private:
    Workspace(std::string directory, Database db, int openedFromVersion);
    std::string m_directory;
    Database m_db;
    int m_openedFromVersion = 0;
};

} // namespace moin
