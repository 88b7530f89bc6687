#include "corpusview.h"
#include "widgetstyle.h"

#include "importdialog.h"
#include "moin/workspace.h"

#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QShortcut>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QTableView>
#include <QTextBlock>
#include <QTimer>
#include <QTabWidget>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace moin::ui {

namespace {
/// At most this many progress signals per second reach the UI.
constexpr int kProgressIntervalMs = 50;
constexpr int kSearchDebounceMs = 250;
/// Characters of a chunk shown in its table cell and in its tooltip.
constexpr int kPreviewChars = 400;
constexpr int kTooltipChars = 1500;

QString number(qint64 value) { return QLocale().toString(value); }

QString fileNameOf(const std::string& path)
{
    const QString qpath = QString::fromStdString(path);
    const QString name = QFileInfo(qpath).fileName();
    return name.isEmpty() ? qpath : name;
}

QString formatName(const std::string& format)
{
    if (format == "jsonl")
        return CorpusView::tr("JSON Lines");
    if (format == "markdown" || format == "md")
        return CorpusView::tr("Markdown");
    if (format == "text" || format == "txt")
        return CorpusView::tr("Text");
    return QString::fromStdString(format);
}

/// `singular` or `plural` (both already translated, with %L1 for the count) by `count`.
QString counted(qint64 count, const QString& singular, const QString& plural)
{
    return (count == 1 ? singular : plural).arg(count);
}

/// A label that never widens its window: long text is cut, not wrapped or grown into.
QLabel* elidingLabel()
{
    auto* label = new QLabel;
    label->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    label->setTextFormat(Qt::PlainText);
    return label;
}

} // namespace

// ---------------------------------------------------------------------------------------------

/// Runs importCorpus on its own thread with its own connection to the workspace; progress and
/// the report go back to the UI as queued signals.
class ImportWorker : public QObject {
    Q_OBJECT
public:
    /// `cancel` is owned by the view and outlives the worker's thread.
    explicit ImportWorker(const CancelToken* cancel) : m_cancel(cancel) {}

    void run(const QString& directory, const std::vector<std::string>& paths,
             const ImportOptions& options)
    {
        ImportReport report;
        QString error;
        QElapsedTimer sinceLast;
        try {
            Workspace workspace = Workspace::open(directory.toStdString());
            report = importCorpus(
                workspace, paths, options,
                [&](const ImportProgress& p) {
                    if (sinceLast.isValid() && sinceLast.elapsed() < kProgressIntervalMs)
                        return;
                    sinceLast.start();
                    emit progressed(p.bytesDone, p.bytesTotal, p.filesDone, p.filesTotal,
                                    p.chunksAdded, QString::fromStdString(p.currentFile));
                },
                m_cancel);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        } catch (...) {
            error = CorpusView::tr("an unknown error");
        }
        emit finished(report, error);
    }

signals:
    void progressed(qint64 bytesDone, qint64 bytesTotal, qint64 filesDone, qint64 filesTotal,
                    qint64 chunksAdded, const QString& currentFile);
    void finished(const moin::ImportReport& report, const QString& error);

private:
    const CancelToken* m_cancel;
};

// ---------------------------------------------------------------------------------------------

ChunkTableModel::ChunkTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void ChunkTableModel::setWorkspace(Workspace* workspace)
{
    m_workspace = workspace;
    m_query.clear();
    refresh();
}

void ChunkTableModel::setQuery(const QString& query)
{
    m_query = query.trimmed();
    refresh();
}

void ChunkTableModel::refresh()
{
    beginResetModel();
    m_rows.clear();
    m_matchCount = 0;
    m_error.clear();
    if (m_workspace) {
        try {
            m_matchCount = countChunks(*m_workspace, m_query.toStdString());
            m_rows = fetchPage(0);
            if (qint64(m_rows.size()) < m_pageSize)
                m_matchCount = qint64(m_rows.size()); // the corpus changed since counting
        } catch (const std::exception& e) {
            m_rows.clear();
            m_matchCount = 0;
            m_error = QString::fromUtf8(e.what());
        }
    }
    endResetModel();
    emit searched();
}

std::vector<ChunkTableModel::Row> ChunkTableModel::fetchPage(qint64 offset)
{
    std::vector<Row> rows;
    const std::vector<ChunkRecord> chunks =
        findChunks(*m_workspace, m_query.toStdString(), m_pageSize, offset);
    rows.reserve(chunks.size());
    for (const ChunkRecord& chunk : chunks) {
        Row row{chunk, fileNameOf(chunk.source), {}};
        row.preview =
            QString::fromStdString(chunk.text.substr(0, kPreviewChars * 4)).left(kPreviewChars)
                .simplified();
        rows.push_back(std::move(row));
    }
    return rows;
}

const ChunkRecord* ChunkTableModel::chunkAt(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? &m_rows[size_t(row)].chunk : nullptr;
}

int ChunkTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ChunkTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ChunkTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const Row& row = m_rows[size_t(index.row())];
    const ChunkRecord& chunk = row.chunk;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case IdColumn: return QString::number(chunk.id);
        case SourceColumn: return row.fileName;
        case LineColumn: return chunk.documentLine > 0 ? number(chunk.documentLine) : QString();
        case PositionColumn: return number(chunk.position);
        case TokensColumn: return number(chunk.tokens);
        case TextColumn: return row.preview;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == SourceColumn)
            return QDir::toNativeSeparators(QString::fromStdString(chunk.source));
        if (index.column() == TextColumn) {
            QString text = QString::fromStdString(chunk.text);
            if (text.size() > kTooltipChars)
                text = text.left(kTooltipChars) + QStringLiteral(" …");
            // Rich text, so that the tooltip wraps instead of running off the screen.
            return QStringLiteral("<p style='white-space:pre-wrap'>%1</p>")
                .arg(text.toHtmlEscaped());
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == SourceColumn || index.column() == TextColumn)
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case FullTextRole: return QString::fromStdString(chunk.text);
    case ChunkIdRole: return QVariant::fromValue(qint64(chunk.id));
    }
    return {};
}

QVariant ChunkTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case IdColumn: return tr("Id");
        case SourceColumn: return tr("Source");
        case LineColumn: return tr("Line");
        case PositionColumn: return tr("Position");
        case TokensColumn: return tr("Tokens");
        case TextColumn: return tr("Text");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case IdColumn: return tr("The chunk's number in this workspace");
        case SourceColumn: return tr("The file the chunk comes from");
        case LineColumn: return tr("The line of the document in a JSON Lines file");
        case PositionColumn: return tr("The chunk's place in its document, from 0");
        case TokensColumn: return tr("Tokens of the workspace's tokenizer in the chunk");
        case TextColumn: return tr("The chunk's text; select a row to read all of it");
        }
    } else if (role == Qt::TextAlignmentRole) {
        const bool left = section == SourceColumn || section == TextColumn;
        return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
    }
    return {};
}

bool ChunkTableModel::canFetchMore(const QModelIndex& parent) const
{
    return !parent.isValid() && m_workspace && m_error.isEmpty()
           && qint64(m_rows.size()) < m_matchCount;
}

void ChunkTableModel::fetchMore(const QModelIndex& parent)
{
    if (!canFetchMore(parent))
        return;
    std::vector<Row> page;
    try {
        page = fetchPage(qint64(m_rows.size()));
    } catch (const std::exception& e) {
        m_error = QString::fromUtf8(e.what());
        emit searched();
        return;
    }
    if (page.empty()) {
        m_matchCount = qint64(m_rows.size()); // chunks were removed since counting
        emit searched();
        return;
    }
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(page.size()) - 1);
    std::move(page.begin(), page.end(), std::back_inserter(m_rows));
    endInsertRows();
}

// ---------------------------------------------------------------------------------------------

SourceTableModel::SourceTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void SourceTableModel::setSources(std::vector<SourceRecord> sources)
{
    beginResetModel();
    m_sources = std::move(sources);
    endResetModel();
}

int SourceTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_sources.size());
}

int SourceTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SourceTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_sources.size()))
        return {};
    const SourceRecord& source = m_sources[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case PathColumn: return QDir::toNativeSeparators(QString::fromStdString(source.path));
        case FormatColumn: return formatName(source.format);
        case DocumentsColumn: return number(source.documents);
        case ChunksColumn: return number(source.chunks);
        case TokensColumn: return number(source.tokens);
        case SkippedColumn: return number(source.linesSkipped);
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == PathColumn)
            return QDir::toNativeSeparators(QString::fromStdString(source.path));
        if (index.column() == SkippedColumn && source.linesSkipped > 0)
            return tr("Lines left out at import: malformed JSON, no text field, invalid UTF-8 "
                      "or empty text");
        break;
    case Qt::ForegroundRole:
        if (index.column() == SkippedColumn && source.linesSkipped > 0)
            return QColor(0xb3, 0x5c, 0x00);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == PathColumn || index.column() == FormatColumn)
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant SourceTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case PathColumn: return tr("File");
        case FormatColumn: return tr("Format");
        case DocumentsColumn: return tr("Documents");
        case ChunksColumn: return tr("Chunks");
        case TokensColumn: return tr("Tokens");
        case SkippedColumn: return tr("Skipped lines");
        }
    } else if (role == Qt::TextAlignmentRole) {
        const bool left = section == PathColumn || section == FormatColumn;
        return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
    }
    return {};
}

// ---------------------------------------------------------------------------------------------

CorpusView::CorpusView(QWidget* parent) : QWidget(parent)
{
    qRegisterMetaType<moin::ImportReport>();
    setAcceptDrops(true);

    m_chunkModel = new ChunkTableModel(this);
    m_sourceModel = new SourceTableModel(this);

    m_worker = new ImportWorker(&m_cancel);
    m_worker->moveToThread(&m_thread);
    m_thread.setObjectName("corpus-import");
    // Queued: the worker lives on m_thread, these slots on the UI thread.
    connect(m_worker, &ImportWorker::progressed, this, &CorpusView::onImportProgress,
            Qt::QueuedConnection);
    connect(m_worker, &ImportWorker::finished, this, &CorpusView::onImportFinished,
            Qt::QueuedConnection);

    m_stack = new QStackedWidget;
    m_stack->addWidget(buildEmptyState());
    m_stack->addWidget(buildContent());

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 10, 12, 12);
    layout->setSpacing(10);
    layout->addWidget(buildHeader());
    layout->addWidget(buildImportPanel());
    layout->addWidget(buildReportPanel());
    layout->addWidget(m_stack, 1);

    auto* find = new QShortcut(QKeySequence::Find, this);
    find->setContext(Qt::WidgetWithChildrenShortcut);
    connect(find, &QShortcut::activated, this, [this] {
        m_search->setFocus();
        m_search->selectAll();
    });
    clear();
}

CorpusView::~CorpusView()
{
    m_cancel.cancel();
    m_thread.quit();
    m_thread.wait();
    delete m_worker; // its thread has ended
}

QWidget* CorpusView::buildHeader()
{
    auto* title = new QLabel(tr("Corpus"));
    title->setFont(scaledFont(title->font(), 1.6, true));

    m_importFiles = new QPushButton(style()->standardIcon(QStyle::SP_FileIcon),
                                    tr("Import files…"));
    m_importFiles->setObjectName("importFilesButton");
    m_importFiles->setToolTip(tr("Add .jsonl, .txt and .md files to the corpus"));
    m_importFolder = new QPushButton(style()->standardIcon(QStyle::SP_DirIcon),
                                     tr("Import folder…"));
    m_importFolder->setObjectName("importFolderButton");
    m_importFolder->setToolTip(tr("Add every .jsonl, .txt and .md file of a folder and its "
                                  "subfolders to the corpus"));
    connect(m_importFiles, &QPushButton::clicked, this, &CorpusView::chooseFilesToImport);
    connect(m_importFolder, &QPushButton::clicked, this, &CorpusView::chooseFolderToImport);

    auto* titleRow = new QHBoxLayout;
    titleRow->addWidget(title);
    titleRow->addStretch();
    titleRow->addWidget(m_importFiles);
    titleRow->addWidget(m_importFolder);

    struct Card {
        QLabel** value;
        const char* objectName;
        QString caption;
        QString tip;
    };
    const Card cards[] = {
        {&m_chunksTotal, "chunksTotal", tr("chunks"),
         tr("Pieces of documents, each at most the chunk size in tokens: what gets embedded, "
            "grouped and trained on")},
        {&m_tokensTotal, "tokensTotal", tr("tokens"),
         tr("Tokens of the workspace's tokenizer in all chunks")},
        {&m_documentsTotal, "documentsTotal", tr("documents"),
         tr("JSON Lines records and text files")},
        {&m_sourcesTotal, "sourcesTotal", tr("source files"), tr("Files imported")},
    };
    auto* cardRow = new QHBoxLayout;
    cardRow->setSpacing(10);
    for (const Card& card : cards) {
        QFrame* frame = statCard(card.value, card.objectName, card.caption, card.tip, 8);
        cardRow->addWidget(frame, 1);
    }

    auto* header = new QWidget;
    auto* layout = new QVBoxLayout(header);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(10);
    layout->addLayout(titleRow);
    layout->addLayout(cardRow);
    return header;
}

QWidget* CorpusView::buildImportPanel()
{
    m_importPanel = new QFrame;
    m_importPanel->setObjectName("importPanel");
    m_importPanel->setFrameShape(QFrame::StyledPanel);
    m_importLabel = elidingLabel();
    m_importLabel->setObjectName("importLabel");
    m_importProgress = new QProgressBar;
    m_importProgress->setObjectName("importProgress");
    m_importProgress->setRange(0, 1000); // permille of the bytes: byte counts overflow int
    m_importProgress->setTextVisible(true);
    m_importCancel = new QPushButton(tr("Cancel"));
    m_importCancel->setObjectName("importCancelButton");
    m_importCancel->setToolTip(tr("Stop after the current line; files finished before stay "
                                  "imported, the file in progress adds nothing"));
    connect(m_importCancel, &QPushButton::clicked, this, &CorpusView::cancelImport);

    auto* row = new QHBoxLayout;
    row->addWidget(m_importProgress, 1);
    row->addWidget(m_importCancel);
    auto* layout = new QVBoxLayout(m_importPanel);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->addWidget(m_importLabel);
    layout->addLayout(row);
    m_importPanel->hide();
    return m_importPanel;
}

QWidget* CorpusView::buildReportPanel()
{
    m_reportPanel = new QFrame;
    m_reportPanel->setObjectName("importReport");
    m_reportPanel->setFrameShape(QFrame::StyledPanel);
    m_reportPanel->setAutoFillBackground(true);
    m_reportIcon = new QLabel;
    m_reportIcon->setAlignment(Qt::AlignTop);
    m_reportText = new QLabel;
    m_reportText->setObjectName("importSummary");
    m_reportText->setWordWrap(true);
    m_reportText->setTextFormat(Qt::PlainText);
    m_reportText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton;
    close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close->setAutoRaise(true);
    close->setToolTip(tr("Hide this report"));
    connect(close, &QToolButton::clicked, m_reportPanel, &QWidget::hide);

    m_problemsToggle = new QToolButton;
    m_problemsToggle->setObjectName("problemsToggle");
    m_problemsToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_problemsToggle->setAutoRaise(true);
    m_problemsToggle->setCheckable(true);
    m_problems = new QTreeWidget;
    m_problems->setObjectName("importProblems");
    m_problems->setHeaderHidden(true);
    m_problems->setRootIsDecorated(false);
    m_problems->setUniformRowHeights(true);
    m_problems->setAlternatingRowColors(true);
    m_problems->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_problems->setTextElideMode(Qt::ElideRight);
    connect(m_problemsToggle, &QToolButton::toggled, this, [this](bool shown) {
        m_problems->setVisible(shown);
        m_problemsToggle->setArrowType(shown ? Qt::DownArrow : Qt::RightArrow);
    });

    auto* textColumn = new QVBoxLayout;
    textColumn->setSpacing(4);
    textColumn->addWidget(m_reportText);
    textColumn->addWidget(m_problemsToggle, 0, Qt::AlignLeft);
    auto* top = new QHBoxLayout;
    top->addWidget(m_reportIcon);
    top->addLayout(textColumn, 1);
    top->addWidget(close, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(m_reportPanel);
    layout->setContentsMargins(12, 8, 8, 8);
    layout->addLayout(top);
    layout->addWidget(m_problems);
    m_reportPanel->hide();
    return m_reportPanel;
}

QWidget* CorpusView::buildEmptyState()
{
    auto* icon = new QLabel;
    icon->setPixmap(style()->standardIcon(QStyle::SP_FileDialogContentsView).pixmap(64, 64));
    icon->setAlignment(Qt::AlignCenter);
    auto* title = new QLabel(tr("No corpus yet — import .jsonl, .txt or .md files"));
    title->setObjectName("corpusEmptyTitle");
    title->setFont(scaledFont(title->font(), 1.3, true));
    title->setAlignment(Qt::AlignCenter);
    title->setWordWrap(true);
    auto* text = mutedLabel(
        tr("Each document is cut into chunks of the base model's tokens; the chunks are then "
           "grouped by topic and each group trains one expert. JSON Lines files hold one "
           "document per line; a .txt or .md file is one document. You can also drop files "
           "and folders here."));
    text->setWordWrap(true);
    text->setAlignment(Qt::AlignCenter);
    text->setFixedWidth(540); // a wrapped label needs a fixed width to get its height right
    auto* files = new QPushButton(tr("Import files…"));
    files->setDefault(true);
    auto* folder = new QPushButton(tr("Import folder…"));
    connect(files, &QPushButton::clicked, this, &CorpusView::chooseFilesToImport);
    connect(folder, &QPushButton::clicked, this, &CorpusView::chooseFolderToImport);
    files->setObjectName("emptyImportFiles");
    folder->setObjectName("emptyImportFolder");

    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    buttons->addWidget(files);
    buttons->addWidget(folder);
    buttons->addStretch();

    auto* page = new QWidget;
    page->setObjectName("corpusEmptyState");
    auto* layout = new QVBoxLayout(page);
    layout->addStretch();
    layout->addWidget(icon);
    layout->addWidget(title);
    auto* textRow = new QHBoxLayout; // centred without an alignment flag, which would cost
    textRow->addStretch();            // the label its height-for-width
    textRow->addWidget(text);
    textRow->addStretch();
    layout->addLayout(textRow);
    layout->addSpacing(12);
    layout->addLayout(buttons);
    layout->addStretch(2);
    return page;
}

QWidget* CorpusView::buildContent()
{
    // Sources.
    m_sourceTable = new QTableView;
    m_sourceTable->setObjectName("sourceTable");
    m_sourceTable->setModel(m_sourceModel);
    m_sourceTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_sourceTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_sourceTable->setAlternatingRowColors(true);
    m_sourceTable->setWordWrap(false);
    m_sourceTable->setTextElideMode(Qt::ElideMiddle);
    m_sourceTable->verticalHeader()->hide();
    m_sourceTable->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_sourceTable->horizontalHeader()->setHighlightSections(false);
    m_sourceTable->horizontalHeader()->setSectionResizeMode(SourceTableModel::PathColumn,
                                                            QHeaderView::Stretch);
    const QFontMetrics metrics = fontMetrics();
    const int numberWidth = metrics.horizontalAdvance(QStringLiteral("00,000,000")) + 24;
    for (int column = SourceTableModel::FormatColumn; column < SourceTableModel::ColumnCount;
         ++column) {
        const QString header =
            m_sourceModel->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
        m_sourceTable->horizontalHeader()->resizeSection(
            column, std::max(numberWidth, metrics.horizontalAdvance(header) + 28));
    }

    // Chunks.
    m_search = new QLineEdit;
    m_search->setObjectName("chunkSearch");
    m_search->setPlaceholderText(tr("Search chunks (every word must appear)…"));
    m_search->setClearButtonEnabled(true);
    m_search->addAction(style()->standardIcon(QStyle::SP_FileDialogContentsView),
                        QLineEdit::LeadingPosition);
    m_search->setToolTip(tr("Words to look for, as whole words; a chunk matches when it has "
                            "every one of them (Ctrl+F)"));
    m_searchTimer = new QTimer(this);
    m_searchTimer->setSingleShot(true);
    m_searchTimer->setInterval(kSearchDebounceMs);
    connect(m_search, &QLineEdit::textChanged, m_searchTimer, qOverload<>(&QTimer::start));
    auto runSearch = [this] {
        m_searchTimer->stop();
        if (m_search->text().trimmed() != m_chunkModel->query())
            m_chunkModel->setQuery(m_search->text());
    };
    connect(m_searchTimer, &QTimer::timeout, this, runSearch);
    connect(m_search, &QLineEdit::returnPressed, this, runSearch);
    m_matchCount = mutedLabel();
    m_matchCount->setObjectName("matchCount");
    connect(m_chunkModel, &ChunkTableModel::searched, this, &CorpusView::updateMatchCount);

    m_chunkTable = new QTableView;
    m_chunkTable->setObjectName("chunkTable");
    m_chunkTable->setModel(m_chunkModel);
    m_chunkTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_chunkTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_chunkTable->setAlternatingRowColors(true);
    m_chunkTable->setWordWrap(false);
    m_chunkTable->setTextElideMode(Qt::ElideRight);
    m_chunkTable->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_chunkTable->verticalHeader()->hide();
    // Fixed row heights: the view never measures 100,000 rows.
    m_chunkTable->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_chunkTable->verticalHeader()->setDefaultSectionSize(metrics.height() + 8);
    QHeaderView* header = m_chunkTable->horizontalHeader();
    header->setHighlightSections(false);
    header->setStretchLastSection(true);
    const auto fit = [&](int column, const QString& sample) {
        const QString title =
            m_chunkModel->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
        header->resizeSection(column, std::max(metrics.horizontalAdvance(sample),
                                               metrics.horizontalAdvance(title)) + 28);
    };
    fit(ChunkTableModel::IdColumn, QStringLiteral("0000000"));
    fit(ChunkTableModel::SourceColumn, QStringLiteral("hacker-culture.jsonl"));
    fit(ChunkTableModel::LineColumn, QStringLiteral("000,000"));
    fit(ChunkTableModel::PositionColumn, QStringLiteral("0,000"));
    fit(ChunkTableModel::TokensColumn, QStringLiteral("00,000"));
    connect(m_chunkTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &CorpusView::showSelectedChunk);
    // After every search the first match is selected, so its text shows at once. (The table
    // connected to modelReset first and has already reset itself.)
    connect(m_chunkModel, &QAbstractItemModel::modelReset, this, [this] {
        if (m_chunkModel->rowCount() > 0)
            m_chunkTable->selectRow(0);
        showSelectedChunk();
    });

    auto* searchRow = new QHBoxLayout;
    searchRow->addWidget(m_search, 1);
    searchRow->addSpacing(8);
    searchRow->addWidget(m_matchCount);

    // The selected chunk.
    m_chunkHeader = elidingLabel();
    m_chunkHeader->setObjectName("chunkHeader");
    QFont bold = m_chunkHeader->font();
    bold.setBold(true);
    m_chunkHeader->setFont(bold);
    m_chunkText = new QPlainTextEdit;
    m_chunkText->setObjectName("chunkText");
    m_chunkText->setReadOnly(true);
    m_chunkText->setPlaceholderText(tr("Select a chunk to read all of its text."));
    auto* textPane = new QWidget;
    auto* textLayout = new QVBoxLayout(textPane);
    textLayout->setContentsMargins(0, 6, 0, 0);
    textLayout->addWidget(m_chunkHeader);
    textLayout->addWidget(m_chunkText, 1);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setObjectName("chunkSplitter");
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(m_chunkTable);
    splitter->addWidget(textPane);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({420, 150});

    auto* chunksPage = new QWidget;
    auto* chunksLayout = new QVBoxLayout(chunksPage);
    chunksLayout->setContentsMargins(8, 8, 8, 8);
    chunksLayout->addLayout(searchRow);
    chunksLayout->addWidget(splitter, 1);

    auto* sourcesPage = new QWidget;
    auto* sourcesLayout = new QVBoxLayout(sourcesPage);
    sourcesLayout->setContentsMargins(8, 8, 8, 8);
    sourcesLayout->addWidget(m_sourceTable);

    m_tabs = new QTabWidget;
    m_tabs->setObjectName("corpusTabs");
    m_tabs->addTab(chunksPage, tr("Chunks"));
    m_tabs->addTab(sourcesPage, tr("Sources"));
    return m_tabs;
}

void CorpusView::showWorkspace(Workspace& workspace)
{
    m_workspace = &workspace;
    m_reportPanel->hide();
    {
        const QSignalBlocker block(m_search); // the new workspace starts unfiltered
        m_search->clear();
    }
    m_searchTimer->stop();
    try {
        m_chunkModel->setWorkspace(&workspace);
    } catch (const std::exception& e) { // setWorkspace catches; this is only a safety net
        showProblemMessage(QString::fromUtf8(e.what()));
    }
    refresh();
    setImportEnabled(!m_importing);
}

void CorpusView::clear()
{
    if (m_importing)
        cancelImport();
    m_workspace = nullptr;
    m_chunkModel->setWorkspace(nullptr);
    m_sourceModel->setSources({});
    {
        const QSignalBlocker block(m_search);
        m_search->clear();
    }
    m_searchTimer->stop();
    for (QLabel* label : {m_chunksTotal, m_tokensTotal, m_documentsTotal, m_sourcesTotal})
        label->setText(QStringLiteral("0"));
    m_reportPanel->hide();
    m_stack->setCurrentIndex(0);
    setImportEnabled(false);
}

void CorpusView::refresh()
{
    if (!m_workspace)
        return;
    try {
        const CorpusStats stats = corpusStats(*m_workspace);
        m_chunksTotal->setText(number(stats.chunks));
        m_tokensTotal->setText(number(stats.tokens));
        m_documentsTotal->setText(number(stats.documents));
        m_sourcesTotal->setText(number(stats.sources));
        m_sourceModel->setSources(listSources(*m_workspace));
        m_tabs->setTabText(1, tr("Sources (%L1)").arg(stats.sources));
        m_stack->setCurrentIndex(stats.chunks == 0 && stats.sources == 0 ? 0 : 1);
    } catch (const std::exception& e) {
        showProblemMessage(tr("Cannot read the corpus of this workspace: %1")
                               .arg(QString::fromUtf8(e.what())));
    }
    m_chunkModel->refresh();
}

void CorpusView::chooseFilesToImport()
{
    if (!m_workspace || m_importing)
        return;
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Import files into the corpus"), QDir::homePath(),
        tr("Corpus files (*.jsonl *.txt *.md);;JSON Lines (*.jsonl);;Text (*.txt *.md)"));
    if (!files.isEmpty())
        askOptionsAndImport(files);
}

void CorpusView::chooseFolderToImport()
{
    if (!m_workspace || m_importing)
        return;
    const QString folder = QFileDialog::getExistingDirectory(
        this, tr("Import a folder into the corpus"), QDir::homePath());
    if (!folder.isEmpty())
        askOptionsAndImport({folder});
}

void CorpusView::askOptionsAndImport(const QStringList& paths)
{
    auto* dialog = new ImportDialog(paths, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { startImport(dialog->paths(), dialog->options()); });
    dialog->open(); // not exec(): the event loop keeps running
}

bool CorpusView::startImport(const QStringList& paths, const ImportOptions& options)
{
    if (!m_workspace || m_importing || paths.isEmpty())
        return false;
    try {
        options.validate();
    } catch (const std::exception& e) {
        showProblemMessage(tr("Cannot import with these options: %1.")
                               .arg(QString::fromUtf8(e.what())));
        return false;
    }
    std::vector<std::string> files;
    for (const QString& path : paths)
        files.push_back(QDir::cleanPath(path).toStdString());

    m_importing = true;
    m_importDirectory = QString::fromStdString(m_workspace->directory());
    m_cancel.reset(); // before the work is queued: a cancel right after this call counts
    m_reportPanel->hide();
    m_importLabel->setText(tr("Starting the import…"));
    m_importProgress->setValue(0);
    m_importProgress->setFormat(QString());
    m_importCancel->setEnabled(true);
    m_importPanel->show();
    setImportEnabled(false);

    if (!m_thread.isRunning())
        m_thread.start();
    ImportWorker* worker = m_worker;
    const QString directory = m_importDirectory;
    QMetaObject::invokeMethod(
        m_worker, [worker, directory, files, options] { worker->run(directory, files, options); },
        Qt::QueuedConnection);
    return true;
}

void CorpusView::cancelImport()
{
    if (!m_importing)
        return;
    m_cancel.cancel();
    m_importCancel->setEnabled(false);
    m_importLabel->setText(tr("Cancelling…"));
}

void CorpusView::onImportProgress(qint64 bytesDone, qint64 bytesTotal, qint64 filesDone,
                                  qint64 filesTotal, qint64 chunksAdded,
                                  const QString& currentFile)
{
    if (!m_importing || m_cancel.isCancelled())
        return;
    const qint64 fileNumber = std::min(filesDone + 1, filesTotal);
    QString text = tr("Importing %1 — file %2 of %3")
                       .arg(QFileInfo(currentFile).fileName(), number(fileNumber),
                            number(filesTotal));
    if (chunksAdded > 0) { // counted per finished file
        text += tr(" · %1 added so far")
                    .arg(counted(chunksAdded, tr("%L1 chunk"), tr("%L1 chunks")));
    }
    m_importLabel->setText(text);
    m_importLabel->setToolTip(QDir::toNativeSeparators(currentFile));
    const int permille = bytesTotal > 0 ? int(bytesDone * 1000 / bytesTotal) : 0;
    m_importProgress->setValue(std::clamp(permille, 0, 1000));
    const QLocale locale;
    m_importProgress->setFormat(tr("%1 of %2")
                                    .arg(locale.formattedDataSize(bytesDone),
                                         locale.formattedDataSize(bytesTotal)));
}

void CorpusView::onImportFinished(const moin::ImportReport& report, const QString& error)
{
    m_importing = false;
    m_importPanel->hide();
    const bool sameWorkspace =
        m_workspace && QString::fromStdString(m_workspace->directory()) == m_importDirectory;
    if (sameWorkspace) {
        refresh();
        showReport(report, error);
        if (report.filesImported > 0 || !error.isEmpty())
            emit corpusChanged();
    }
    setImportEnabled(m_workspace != nullptr);
    emit importFinished(report, error);
}

QString CorpusView::summarize(const ImportReport& report)
{
    QStringList sentences;
    if (report.cancelled) {
        sentences << tr("Import cancelled: the file in progress added nothing; files finished "
                        "before it stay imported.");
    }
    if (report.filesImported > 0) {
        sentences << tr("Imported %1: %2 in %3, %4.")
                         .arg(counted(report.filesImported, tr("%L1 file"), tr("%L1 files")),
                              counted(report.chunksAdded, tr("%L1 chunk"), tr("%L1 chunks")),
                              counted(report.documentsAdded, tr("%L1 document"),
                                      tr("%L1 documents")),
                              counted(report.tokensAdded, tr("%L1 token"), tr("%L1 tokens")));
    } else if (!report.cancelled) {
        sentences << tr("Nothing new was imported.");
    }
    QStringList notes;
    if (report.filesAlreadyImported > 0) {
        notes << counted(report.filesAlreadyImported, tr("%L1 file was already imported"),
                         tr("%L1 files were already imported"));
    }
    if (report.filesRefused > 0) {
        notes << counted(report.filesRefused, tr("%L1 file was refused"),
                         tr("%L1 files were refused"));
    }
    if (report.linesSkipped > 0) {
        notes << counted(report.linesSkipped, tr("%L1 line was skipped"),
                         tr("%L1 lines were skipped"));
    }
    if (report.chunksDuplicate > 0) {
        notes << counted(report.chunksDuplicate, tr("%L1 duplicate chunk was dropped"),
                         tr("%L1 duplicate chunks were dropped"));
    }
    if (!notes.isEmpty()) {
        QString text = notes.join(tr(", ")) + QLatin1Char('.');
        text[0] = text[0].toUpper();
        sentences << text;
    }
    return sentences.join(QLatin1Char(' '));
}

QString CorpusView::describeProblem(const ImportProblem& problem)
{
    const QString file = fileNameOf(problem.path);
    const QString message = QString::fromStdString(problem.message);
    return problem.line > 0 ? QStringLiteral("%1:%2: %3").arg(file).arg(problem.line).arg(message)
                            : QStringLiteral("%1: %2").arg(file, message);
}

void CorpusView::showReport(const ImportReport& report, const QString& error)
{
    enum class Tone { Info, Warning, Error };
    Tone tone = Tone::Info;
    QString text;
    if (!error.isEmpty()) {
        tone = Tone::Error;
        text = tr("The import stopped: %1\nFiles finished before the error stay imported. Fix "
                  "the cause and import again; files imported already are skipped.")
                   .arg(error);
    } else {
        text = summarize(report);
        if (report.cancelled || !report.problems.empty() || report.filesImported == 0)
            tone = Tone::Warning;
    }
    m_reportText->setText(text);
    const QStyle::StandardPixmap icon = tone == Tone::Error     ? QStyle::SP_MessageBoxCritical
                                        : tone == Tone::Warning ? QStyle::SP_MessageBoxWarning
                                                                : QStyle::SP_MessageBoxInformation;
    m_reportIcon->setPixmap(style()->standardIcon(icon).pixmap(24, 24));
    QPalette palette = this->palette();
    palette.setColor(QPalette::Window, tone == Tone::Error     ? QColor(0xfd, 0xec, 0xea)
                                       : tone == Tone::Warning ? QColor(0xff, 0xf6, 0xe5)
                                                               : QColor(0xe9, 0xf3, 0xfc));
    m_reportPanel->setPalette(palette);

    m_problems->clear();
    QList<QTreeWidgetItem*> items;
    for (const ImportProblem& problem : report.problems) {
        const QString text = describeProblem(problem);
        auto* item = new QTreeWidgetItem({text});
        item->setToolTip(0, QDir::toNativeSeparators(QString::fromStdString(problem.path))
                                + QStringLiteral("\n") + text);
        items << item;
    }
    m_problems->addTopLevelItems(items);
    // As tall as its rows, up to six; more scroll.
    const int hinted = m_problems->sizeHintForRow(0);
    const int rowHeight = hinted > 0 ? hinted : fontMetrics().height() + 4;
    m_problems->setFixedHeight(rowHeight * std::min<int>(int(items.size()), 6)
                               + 2 * m_problems->frameWidth() + 2);
    const qint64 problemCount = report.linesSkipped + report.filesRefused;
    if (report.problems.empty()) {
        m_problemsToggle->hide();
        m_problems->hide();
    } else {
        QString label = counted(problemCount, tr("%L1 problem"), tr("%L1 problems"));
        if (qint64(report.problems.size()) < problemCount)
            label += tr(" (the first %L1 listed)").arg(qint64(report.problems.size()));
        m_problemsToggle->setText(label);
        m_problemsToggle->show();
        m_problemsToggle->setChecked(true);
        m_problems->setVisible(true);
        m_problemsToggle->setArrowType(Qt::DownArrow);
    }
    m_reportPanel->show();
}

void CorpusView::showProblemMessage(const QString& message)
{
    m_reportText->setText(message);
    m_reportIcon->setPixmap(
        style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(24, 24));
    QPalette palette = this->palette();
    palette.setColor(QPalette::Window, QColor(0xfd, 0xec, 0xea));
    m_reportPanel->setPalette(palette);
    m_problems->clear();
    m_problems->hide();
    m_problemsToggle->hide();
    m_reportPanel->show();
}

void CorpusView::showSelectedChunk()
{
    const QModelIndex current = m_chunkTable->selectionModel()->currentIndex();
    const ChunkRecord* chunk = current.isValid() ? m_chunkModel->chunkAt(current.row()) : nullptr;
    if (!chunk) {
        m_chunkHeader->setText(tr("No chunk selected"));
        m_chunkText->clear();
        return;
    }
    QString where = fileNameOf(chunk->source);
    if (chunk->documentLine > 0)
        where += tr(", line %1").arg(number(chunk->documentLine));
    m_chunkHeader->setText(tr("Chunk %1 · %2 · position %3 in its document · %4")
                               .arg(QString::number(chunk->id), where,
                                    number(chunk->position),
                                    counted(chunk->tokens, tr("%L1 token"), tr("%L1 tokens"))));
    m_chunkHeader->setToolTip(QDir::toNativeSeparators(QString::fromStdString(chunk->source)));
    m_chunkText->setPlainText(QString::fromStdString(chunk->text));

    // Mark the searched words in the text.
    QList<QTextEdit::ExtraSelection> marks;
    const QStringList words =
        m_chunkModel->query().split(QRegularExpression(QStringLiteral("\\s+")),
                                    Qt::SkipEmptyParts);
    QTextCharFormat format;
    format.setBackground(QColor(0xff, 0xe5, 0x8f));
    for (const QString& word : words) {
        const QRegularExpression pattern(
            QStringLiteral("\\b%1\\b").arg(QRegularExpression::escape(word)),
            QRegularExpression::CaseInsensitiveOption
                | QRegularExpression::UseUnicodePropertiesOption);
        QTextCursor cursor(m_chunkText->document());
        while (marks.size() < 1000) {
            cursor = m_chunkText->document()->find(pattern, cursor);
            if (cursor.isNull())
                break;
            marks.append({cursor, format});
        }
    }
    m_chunkText->setExtraSelections(marks);
}

void CorpusView::updateMatchCount()
{
    if (!m_chunkModel->errorString().isEmpty()) {
        m_matchCount->setText(tr("Search failed: %1").arg(m_chunkModel->errorString()));
        return;
    }
    const qint64 matches = m_chunkModel->matchCount();
    if (m_chunkModel->query().isEmpty()) {
        m_matchCount->setText(counted(matches, tr("%L1 chunk"), tr("%L1 chunks")));
    } else {
        m_matchCount->setText(
            counted(matches, tr("%L1 chunk matches"), tr("%L1 chunks match")));
    }
}

void CorpusView::setImportEnabled(bool enabled)
{
    m_importFiles->setEnabled(enabled);
    m_importFolder->setEnabled(enabled);
    for (auto* button : m_stack->widget(0)->findChildren<QPushButton*>())
        button->setEnabled(enabled);
}

void CorpusView::dragEnterEvent(QDragEnterEvent* event)
{
    if (m_workspace && !m_importing && event->mimeData()->hasUrls()) {
        for (const QUrl& url : event->mimeData()->urls()) {
            if (!url.isLocalFile())
                return;
        }
        event->acceptProposedAction();
    }
}

void CorpusView::dropEvent(QDropEvent* event)
{
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        paths << url.toLocalFile();
    if (paths.isEmpty() || !m_workspace || m_importing)
        return;
    event->acceptProposedAction();
    askOptionsAndImport(paths);
}

} // namespace moin::ui

#include "corpusview.moc"
