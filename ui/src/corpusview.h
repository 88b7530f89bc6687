#pragma once
#include "moin/cancel.h"
#include "moin/corpus.h"

#include <QAbstractTableModel>
#include <QMetaType>
#include <QStringList>
#include <QThread>
#include <QWidget>

#include <vector>

class QFrame;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTimer;
class QDragEnterEvent;
class QDropEvent;
class QToolButton;
class QTreeWidget;

Q_DECLARE_METATYPE(moin::ImportReport)

namespace moin::ui {

class ImportWorker;

/// The chunks matching a search, by id, fetched from the workspace in pages as the view scrolls
/// (canFetchMore / fetchMore), so that a corpus of any size lists at once.
class ChunkTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { IdColumn, SourceColumn, LineColumn, PositionColumn, TokensColumn, TextColumn,
                  ColumnCount };
    /// The whole text of a chunk (any column).
    static constexpr int FullTextRole = Qt::UserRole + 1;
    /// The chunk's id, as qint64 (any column).
    static constexpr int ChunkIdRole = Qt::UserRole + 2;

    explicit ChunkTableModel(QObject* parent = nullptr);

    /// Lists `workspace`'s chunks (nullptr: none). The workspace must outlive the model's use
    /// of it or be replaced first.
    void setWorkspace(Workspace* workspace);
    /// Re-runs the search with `query` (plain words; empty lists every chunk) and loads its first
    /// page.
    void setQuery(const QString& query);
    QString query() const { return m_query; }
    /// Re-reads the current search (after an import).
    void refresh();

    /// Rows fetched per page (default 256).
    void setPageSize(int rows) { m_pageSize = rows > 0 ? rows : 1; }
    int pageSize() const { return m_pageSize; }
    /// Chunks that match the search (countChunks); rowCount() is how many are loaded.
    qint64 matchCount() const { return m_matchCount; }
    /// Why the last search failed, or empty.
    QString errorString() const { return m_error; }
    const ChunkRecord* chunkAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    bool canFetchMore(const QModelIndex& parent) const override;
    void fetchMore(const QModelIndex& parent) override;

signals:
    /// A search finished (matchCount() and errorString() are up to date).
    void searched();

private:
    struct Row {
        ChunkRecord chunk;
        QString fileName;
        QString preview; ///< first characters, whitespace collapsed: one line
    };
    std::vector<Row> fetchPage(qint64 offset);

    Workspace* m_workspace = nullptr;
    QString m_query;
    std::vector<Row> m_rows;
    qint64 m_matchCount = 0;
    int m_pageSize = 256;
    QString m_error;
};

/// One row per imported file: path, format, documents, chunks, tokens, skipped lines.
class SourceTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { PathColumn, FormatColumn, DocumentsColumn, ChunksColumn, TokensColumn,
                  SkippedColumn, ColumnCount };

    explicit SourceTableModel(QObject* parent = nullptr);
    void setSources(std::vector<SourceRecord> sources);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<SourceRecord> m_sources;
};

/// The corpus of the open workspace: totals, import (off the UI thread, with progress, cancel
/// and a report of every skipped line and refused file), the sources, and a searchable list of
/// chunks with the selected one's text.
class CorpusView : public QWidget {
    Q_OBJECT
public:
    explicit CorpusView(QWidget* parent = nullptr);
    /// Cancels a running import and waits for it (it stops at the next line).
    ~CorpusView() override;

    /// Shows `workspace` (valid until clear() or the next showWorkspace()); re-reads everything
    /// with small queries on the UI thread.
    void showWorkspace(Workspace& workspace);
    /// Forgets the workspace; a running import is cancelled.
    void clear();
    /// Re-reads the totals, sources and chunks of the shown workspace.
    void refresh();

    /// Starts importing `paths` (files and folders) into the shown workspace on a worker thread,
    /// which opens its own connection to it. Returns false, changing nothing, if no workspace is
    /// shown, an import is running, or `options` are invalid (the reason is shown).
    bool startImport(const QStringList& paths, const ImportOptions& options);
    /// Asks the running import to stop; files finished before stay imported.
    void cancelImport();
    bool isImporting() const { return m_importing; }

    /// Opens the file or folder chooser, then the options dialog, then imports.
    void chooseFilesToImport();
    void chooseFolderToImport();

    ChunkTableModel* chunkModel() const { return m_chunkModel; }
    SourceTableModel* sourceModel() const { return m_sourceModel; }

    /// One paragraph saying what an import did, for people.
    static QString summarize(const ImportReport& report);
    /// "file:line: message" (the line left out for whole-file problems).
    static QString describeProblem(const ImportProblem& problem);

signals:
    /// An import ended: `report` is what it did; `error` is empty unless it stopped on an
    /// exception (its message; the report then holds what was done before).
    void importFinished(const moin::ImportReport& report, const QString& error);
    /// The corpus of the shown workspace changed (an import added something).
    void corpusChanged();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    QWidget* buildHeader();
    QWidget* buildImportPanel();
    QWidget* buildReportPanel();
    QWidget* buildEmptyState();
    QWidget* buildContent();
    void askOptionsAndImport(const QStringList& paths);
    void onImportProgress(qint64 bytesDone, qint64 bytesTotal, qint64 filesDone,
                          qint64 filesTotal, qint64 chunksAdded, const QString& currentFile);
    void onImportFinished(const moin::ImportReport& report, const QString& error);
    void showReport(const ImportReport& report, const QString& error);
    void showSelectedChunk();
    void updateMatchCount();
    void setImportEnabled(bool enabled);
    void showProblemMessage(const QString& message);

    Workspace* m_workspace = nullptr;
    QString m_importDirectory; // workspace the running import writes to

    // The import runs in m_worker on m_thread; m_cancel is read there, set here.
    QThread m_thread;
    ImportWorker* m_worker = nullptr;
    CancelToken m_cancel;
    bool m_importing = false;

    ChunkTableModel* m_chunkModel = nullptr;
    SourceTableModel* m_sourceModel = nullptr;

    QLabel* m_chunksTotal = nullptr;
    QLabel* m_tokensTotal = nullptr;
    QLabel* m_documentsTotal = nullptr;
    QLabel* m_sourcesTotal = nullptr;
    QPushButton* m_importFiles = nullptr;
    QPushButton* m_importFolder = nullptr;

    QFrame* m_importPanel = nullptr;
    QLabel* m_importLabel = nullptr;
    QProgressBar* m_importProgress = nullptr;
    QPushButton* m_importCancel = nullptr;

    QFrame* m_reportPanel = nullptr;
    QLabel* m_reportIcon = nullptr;
    QLabel* m_reportText = nullptr;
    QToolButton* m_problemsToggle = nullptr;
    QTreeWidget* m_problems = nullptr;

    QStackedWidget* m_stack = nullptr; // empty state | content
    QTabWidget* m_tabs = nullptr;      // chunks | sources
    QTableView* m_sourceTable = nullptr;
    QLineEdit* m_search = nullptr;
    QTimer* m_searchTimer = nullptr;
    QLabel* m_matchCount = nullptr;
    QTableView* m_chunkTable = nullptr;
    QLabel* m_chunkHeader = nullptr;
    QPlainTextEdit* m_chunkText = nullptr;
};

} // namespace moin::ui
