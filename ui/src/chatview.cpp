#include "chatview.h"
#include "widgetstyle.h"

#include "chatengine.h"
#include "chatsettingspanel.h"
#include "moin/clustering.h"
#include "moin/training.h"
#include "moin/ui/appsettings.h"
#include "moin/workspace.h"

#include <QApplication>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QStyledItemDelegate>
#include <QTextBlock>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

namespace moin::ui {

namespace {
constexpr int kSaveDelayMs = 400;
constexpr int kInputMaxLines = 6;
constexpr int kTranscriptMarginX = 26;
constexpr int kTranscriptMarginY = 20;
/// The subtitle of a conversation in the list (message count, last change).
constexpr int kSubtitleRole = Qt::UserRole + 1;
constexpr int kIdRole = Qt::UserRole;

QString fromStd(const std::string& text) { return QString::fromStdString(text); }

/// "14:05" today, otherwise the short date.
QString shortWhen(const std::string& iso)
{
    QDateTime when = QDateTime::fromString(fromStd(iso), Qt::ISODateWithMs);
    if (!when.isValid())
        when = QDateTime::fromString(fromStd(iso), Qt::ISODate);
    if (!when.isValid())
        return {};
    when = when.toLocalTime();
    const QLocale locale;
    if (when.date() == QDate::currentDate())
        return locale.toString(when.time(), QStringLiteral("HH:mm"));
    return locale.toString(when.date(), QLocale::ShortFormat);
}

/// Two lines per conversation: the title, and its message count and last change, muted.
class ConversationDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override
    {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const QString title = opt.text;
        opt.text.clear();
        const QWidget* widget = opt.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

        const bool selected = opt.state & QStyle::State_Selected;
        const QColor ink = opt.palette.color(selected ? QPalette::HighlightedText : QPalette::Text);
        const QColor paper = opt.palette.color(selected ? QPalette::Highlight : QPalette::Base);
        const QRect area = opt.rect.adjusted(10, 6, -10, -6);
        QFont titleFont = opt.font;
        titleFont.setWeight(QFont::DemiBold);
        QFont subtitleFont = scaledFont(opt.font, 0.9);
        const QFontMetrics titleMetrics(titleFont);
        const QFontMetrics subtitleMetrics(subtitleFont);

        painter->save();
        painter->setFont(titleFont);
        painter->setPen(ink);
        painter->drawText(QRect(area.left(), area.top(), area.width(), titleMetrics.height()),
                          Qt::AlignLeft | Qt::AlignVCenter,
                          titleMetrics.elidedText(title, Qt::ElideRight, area.width()));
        painter->setFont(subtitleFont);
        painter->setPen(mixColours(ink, paper, 62));
        const QString subtitle = index.data(kSubtitleRole).toString();
        painter->drawText(QRect(area.left(), area.top() + titleMetrics.height() + 2,
                                area.width(), subtitleMetrics.height()),
                          Qt::AlignLeft | Qt::AlignVCenter,
                          subtitleMetrics.elidedText(subtitle, Qt::ElideRight, area.width()));
        painter->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const override
    {
        const QFontMetrics titleMetrics(option.font);
        const QFontMetrics subtitleMetrics(scaledFont(option.font, 0.9));
        return QSize(160, titleMetrics.height() + subtitleMetrics.height() + 14);
    }

    void updateEditorGeometry(QWidget* editor, const QStyleOptionViewItem& option,
                              const QModelIndex&) const override
    {
        const QFontMetrics metrics(option.font);
        editor->setGeometry(QRect(option.rect.left() + 4, option.rect.top() + 3,
                                  option.rect.width() - 8, metrics.height() + 8));
    }
};
} // namespace

// ---------------------------------------------------------------------------------------------

ChatInput::ChatInput(QWidget* parent) : QPlainTextEdit(parent)
{
    setObjectName("chatInput");
    setTabChangesFocus(true);
    setFont(scaledFont(font(), 1.08));
    setPlaceholderText(tr("Ask a question…   Shift+Enter: new line"));
    setFrameShape(QFrame::NoFrame);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    connect(this, &QPlainTextEdit::textChanged, this, [this] {
        updateGeometry();
        setFixedHeight(sizeHint().height());
    });
    setFixedHeight(sizeHint().height());
}

QSize ChatInput::sizeHint() const
{
    int lines = 0;
    const QFontMetrics metrics(font());
    const int width = std::max(100, viewport()->width() - 8);
    for (QTextBlock block = document()->begin(); block.isValid(); block = block.next()) {
        const int advance = metrics.horizontalAdvance(block.text());
        lines += std::max(1, (advance + width - 1) / width);
    }
    lines = std::clamp(lines, 2, kInputMaxLines);
    const int height = lines * metrics.lineSpacing() + 2 * int(document()->documentMargin())
                       + 2 * frameWidth() + 4;
    return QSize(QPlainTextEdit::sizeHint().width(), height);
}

QSize ChatInput::minimumSizeHint() const { return QSize(100, sizeHint().height()); }

void ChatInput::keyPressEvent(QKeyEvent* event)
{
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        emit submitted();
        event->accept();
        return;
    }
    if (enter) {
        insertPlainText(QStringLiteral("\n"));
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

// ---------------------------------------------------------------------------------------------

ChatView::ChatView(QWidget* parent) : QWidget(parent)
{
    m_engine = new ChatEngine(this);
    connect(m_engine, &ChatEngine::opened, this, &ChatView::onEngineOpened);
    connect(m_engine, &ChatEngine::openFailed, this, &ChatView::onEngineFailed);
    connect(m_engine, &ChatEngine::textArrived, this, &ChatView::onText);
    connect(m_engine, &ChatEngine::finished, this, &ChatView::onFinished);
    connect(m_engine, &ChatEngine::failed, this, &ChatView::onFailed);

    m_settings = new ChatSettingsPanel;
    m_saveTimer = new QTimer(this);
    m_saveTimer->setSingleShot(true);
    m_saveTimer->setInterval(kSaveDelayMs);
    connect(m_saveTimer, &QTimer::timeout, this, &ChatView::saveSettings);
    connect(m_settings, &ChatSettingsPanel::changed, this, &ChatView::scheduleSave);

    auto* settingsScroll = new QScrollArea;
    settingsScroll->setObjectName("settingsArea");
    settingsScroll->setWidget(m_settings);
    settingsScroll->setWidgetResizable(true);
    settingsScroll->setFrameShape(QFrame::NoFrame);
    settingsScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    settingsScroll->setMinimumWidth(230);
    settingsScroll->setMaximumWidth(360);
    m_settingsArea = settingsScroll;

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setChildrenCollapsible(false);
    splitter->setHandleWidth(1);
    splitter->addWidget(buildSidebar());
    splitter->addWidget(buildCentre());
    splitter->addWidget(m_settingsArea);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setStretchFactor(2, 0);
    splitter->setSizes({240, 640, 250});

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 10, 12, 8);
    layout->setSpacing(8);
    layout->addWidget(buildHeader());
    layout->addWidget(splitter, 1);

    updateNotice();
    updateActions();
    updateEngineStatus();
}

ChatView::~ChatView()
{
    // Before the widgets go: the engine's queued deliveries must find nothing to update.
    m_exchanges.clear();
    m_engine->close();
}

QWidget* ChatView::buildHeader()
{
    auto* title = new QLabel(tr("Chat"));
    title->setFont(scaledFont(title->font(), 1.6, true));
    m_engineStatus = mutedLabel();
    m_engineStatus->setObjectName("engineStatus");
    m_engineStatus->setTextFormat(Qt::PlainText);

    m_settingsToggle = new QToolButton;
    m_settingsToggle->setObjectName("settingsToggle");
    m_settingsToggle->setText(tr("Settings"));
    m_settingsToggle->setIcon(style()->standardIcon(QStyle::SP_FileDialogDetailedView));
    m_settingsToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_settingsToggle->setCheckable(true);
    m_settingsToggle->setChecked(true);
    m_settingsToggle->setToolTip(tr("Show or hide the conversation's settings"));
    connect(m_settingsToggle, &QToolButton::toggled, this,
            [this](bool shown) { m_settingsArea->setVisible(shown); });

    auto* header = new QWidget;
    auto* layout = new QHBoxLayout(header);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(12);
    layout->addWidget(title);
    layout->addWidget(m_engineStatus, 1, Qt::AlignBottom);
    layout->addWidget(m_settingsToggle);
    return header;
}

QWidget* ChatView::buildSidebar()
{
    auto* caption = new QLabel(tr("Conversations"));
    caption->setFont(scaledFont(caption->font(), 1.0, true));

    m_newButton = new QPushButton(style()->standardIcon(QStyle::SP_FileIcon), tr("New"));
    m_newButton->setObjectName("newConversation");
    m_newButton->setToolTip(tr("Start a new conversation with the current settings"));
    connect(m_newButton, &QPushButton::clicked, this, [this] { newConversation(); });

    m_list = new QListWidget;
    m_list->setObjectName("conversationList");
    m_list->setItemDelegate(new ConversationDelegate(m_list));
    m_list->setEditTriggers(QAbstractItemView::EditKeyPressed
                            | QAbstractItemView::DoubleClicked);
    m_list->setUniformItemSizes(true);
    m_list->setSpacing(1);
    connect(m_list, &QListWidget::currentItemChanged, this,
            [this](QListWidgetItem* item) {
                if (item && item->data(kIdRole).toLongLong() != m_conversation)
                    showConversation(item->data(kIdRole).toLongLong());
                updateActions();
            });
    connect(m_list, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        // Not rebuilt here: the list is in the middle of committing the edit.
        if (!storeTitle(item->data(kIdRole).toLongLong(), item->text()))
            QTimer::singleShot(0, this, &ChatView::refreshList);
    });

    const auto toolButton = [this](const char* name, QStyle::StandardPixmap icon,
                                   const QString& text, const QString& tip) {
        auto* button = new QToolButton;
        button->setObjectName(name);
        button->setIcon(style()->standardIcon(icon));
        button->setText(text);
        button->setToolTip(tip);
        button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        button->setAutoRaise(true);
        // Never squeezed into "Um…en": the sidebar grows to fit longer translations instead.
        button->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
        return button;
    };
    m_renameButton = toolButton("renameConversation", QStyle::SP_FileDialogContentsView,
                                tr("Rename"), tr("Rename the selected conversation (F2)"));
    connect(m_renameButton, &QToolButton::clicked, this, [this] {
        if (QListWidgetItem* item = m_list->currentItem())
            m_list->editItem(item);
    });
    m_deleteButton = toolButton("deleteConversation", QStyle::SP_TrashIcon, tr("Delete"),
                                tr("Delete the selected conversation and its messages"));
    connect(m_deleteButton, &QToolButton::clicked, this, &ChatView::askToDelete);
    m_exportButton = toolButton("exportConversation", QStyle::SP_DialogSaveButton, tr("Export"),
                                tr("Save the selected conversation as Markdown or JSON"));
    m_exportButton->setPopupMode(QToolButton::InstantPopup);
    auto* exportMenu = new QMenu(m_exportButton);
    exportMenu->addAction(tr("Markdown…"), this,
                          [this] { chooseExport(ExportFormat::Markdown); });
    exportMenu->addAction(tr("JSON…"), this, [this] { chooseExport(ExportFormat::Json); });
    m_exportButton->setMenu(exportMenu);

    auto* top = new QHBoxLayout;
    top->addWidget(caption, 1);
    top->addWidget(m_newButton);
    auto* bottom = new QHBoxLayout;
    bottom->setSpacing(0);
    bottom->addWidget(m_renameButton);
    bottom->addWidget(m_deleteButton);
    bottom->addWidget(m_exportButton);
    bottom->addStretch(1);

    auto* sidebar = new QWidget;
    sidebar->setObjectName("chatSidebar");
    // No explicit minimum: the layout's own (the fixed-size buttons below the list) keeps every
    // translation of Rename/Delete/Export readable.
    sidebar->setMaximumWidth(340);
    auto* layout = new QVBoxLayout(sidebar);
    layout->setContentsMargins(0, 0, 10, 0);
    layout->setSpacing(6);
    layout->addLayout(top);
    layout->addWidget(m_list, 1);
    layout->addLayout(bottom);
    return sidebar;
}

QWidget* ChatView::buildPlaceholder()
{
    auto* icon = new QLabel;
    icon->setPixmap(QIcon(":/moin/icons/moin-studio.svg").pixmap(64, 64));
    icon->setAlignment(Qt::AlignCenter);
    auto* title = new QLabel(tr("Ask your experts"));
    title->setFont(scaledFont(title->font(), 1.35, true));
    title->setAlignment(Qt::AlignCenter);
    auto* text = mutedLabel(tr("Each question goes to the expert whose cluster of the corpus is "
                               "nearest to it, and that expert answers. Every answer shows who "
                               "gave it, how close the question was, and the runner-ups; click "
                               "it to see the route on the cluster map."));
    text->setWordWrap(true);
    text->setAlignment(Qt::AlignCenter);
    text->setMaximumWidth(460);

    auto* page = new QWidget;
    page->setObjectName("chatPlaceholder");
    page->setAutoFillBackground(true);
    page->setBackgroundRole(QPalette::Base);
    auto* layout = new QVBoxLayout(page);
    layout->addStretch(1);
    layout->addWidget(icon);
    layout->addSpacing(6);
    layout->addWidget(title);
    layout->addWidget(text, 0, Qt::AlignHCenter);
    layout->addStretch(2);
    return page;
}

QWidget* ChatView::buildCentre()
{
    // The note: no experts yet, no run, or the model failed to load.
    m_notice = new QFrame;
    m_notice->setObjectName("chatNotice");
    m_noticeIcon = new QLabel;
    m_noticeText = new QLabel;
    m_noticeText->setObjectName("chatNoticeText");
    m_noticeText->setWordWrap(true);
    m_noticeText->setTextFormat(Qt::PlainText);
    m_noticeButton = new QPushButton;
    m_noticeButton->setObjectName("chatNoticeButton");
    {
        auto* layout = new QHBoxLayout(m_notice);
        layout->setContentsMargins(12, 8, 12, 8);
        layout->setSpacing(10);
        layout->addWidget(m_noticeIcon, 0, Qt::AlignTop);
        layout->addWidget(m_noticeText, 1);
        layout->addWidget(m_noticeButton, 0, Qt::AlignVCenter);
    }

    m_transcript = new QWidget;
    m_transcript->setObjectName("transcript");
    m_transcript->setAutoFillBackground(true);
    m_transcript->setBackgroundRole(QPalette::Base);
    m_transcriptLayout = new QVBoxLayout(m_transcript);
    m_transcriptLayout->setContentsMargins(kTranscriptMarginX, kTranscriptMarginY,
                                           kTranscriptMarginX, kTranscriptMarginY);
    m_transcriptLayout->setSpacing(16);
    m_transcriptLayout->addStretch(1);
    m_scroll = new QScrollArea;
    m_scroll->setObjectName("transcriptScroll");
    m_scroll->setWidget(m_transcript);
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_scroll->viewport()->installEventFilter(this);
    QScrollBar* bar = m_scroll->verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this,
            [this, bar](int value) { m_stickToBottom = value >= bar->maximum() - 8; });
    connect(bar, &QScrollBar::rangeChanged, this, [this, bar](int, int maximum) {
        if (m_stickToBottom)
            bar->setValue(maximum);
    });

    m_stack = new QStackedWidget;
    m_stack->addWidget(buildPlaceholder());
    m_stack->addWidget(m_scroll);

    auto* transcriptFrame = new QFrame;
    transcriptFrame->setObjectName("transcriptFrame");
    transcriptFrame->setFrameShape(QFrame::StyledPanel);
    {
        auto* layout = new QVBoxLayout(transcriptFrame);
        layout->setContentsMargins(1, 1, 1, 1);
        layout->addWidget(m_stack);
    }

    m_input = new ChatInput;
    connect(m_input, &ChatInput::submitted, this, [this] { send(); });
    connect(m_input, &QPlainTextEdit::textChanged, this, &ChatView::updateActions);

    m_send = new QPushButton(tr("Send"));
    m_send->setObjectName("sendButton");
    m_send->setIcon(style()->standardIcon(QStyle::SP_ArrowForward));
    m_send->setToolTip(tr("Send the question (Enter)"));
    m_send->setDefault(true);
    connect(m_send, &QPushButton::clicked, this, [this] { send(); });
    m_compare = new QPushButton(tr("Compare"));
    m_compare->setObjectName("compareButton");
    m_compare->setToolTip(tr("Ask the question twice, as chosen under Answered by and under "
                             "Compare with, and show both answers side by side"));
    connect(m_compare, &QPushButton::clicked, this, [this] { compare(); });
    m_stop = new QPushButton(tr("Stop"));
    m_stop->setObjectName("stopButton");
    m_stop->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    m_stop->setToolTip(tr("Stop the answer; what was generated so far is kept"));
    connect(m_stop, &QPushButton::clicked, this, &ChatView::stop);

    auto* inputFrame = new QFrame;
    inputFrame->setObjectName("inputFrame");
    inputFrame->setFrameShape(QFrame::StyledPanel);
    inputFrame->setAutoFillBackground(true);
    inputFrame->setBackgroundRole(QPalette::Base);
    {
        auto* buttons = new QVBoxLayout;
        buttons->setSpacing(4);
        buttons->addWidget(m_send);
        buttons->addWidget(m_compare);
        buttons->addWidget(m_stop);
        buttons->addStretch(1);
        auto* layout = new QHBoxLayout(inputFrame);
        layout->setContentsMargins(8, 6, 6, 6);
        layout->setSpacing(8);
        layout->addWidget(m_input, 1);
        layout->addLayout(buttons);
    }

    m_status = mutedLabel();
    m_status->setObjectName("chatStatus");
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);

    auto* centre = new QWidget;
    auto* layout = new QVBoxLayout(centre);
    layout->setContentsMargins(10, 0, 10, 0);
    layout->setSpacing(8);
    layout->addWidget(m_notice);
    layout->addWidget(transcriptFrame, 1);
    layout->addWidget(inputFrame);
    layout->addWidget(m_status);
    return centre;
}

// ---------------------------------------------------------------------------------------------

void ChatView::showWorkspace(Workspace& workspace)
{
    clear();
    m_workspace = &workspace;
    refresh();
    const std::vector<Conversation> conversations = [this] {
        try {
            return ConversationStore(*m_workspace).list();
        } catch (const std::exception& e) {
            setStatus(QString::fromUtf8(e.what()), true);
            return std::vector<Conversation>();
        }
    }();
    if (!conversations.empty())
        showConversation(conversations.front().id);
    else
        showConversation(0);
    if (isVisible())
        openEngineIfNeeded();
}

void ChatView::clear()
{
    m_saveTimer->stop();
    m_exchanges.clear();
    m_exchangeOf.clear();
    m_engine->close();
    m_engineError.clear();
    m_workspace = nullptr;
    m_conversation = 0;
    m_keywords.clear();
    m_experts.clear();
    m_activeRun = 0;
    m_clusterCount = 0;
    clearTranscript();
    {
        const QSignalBlocker block(m_list);
        m_list->clear();
    }
    m_settings->setExperts({});
    m_settings->reset();
    m_stack->setCurrentIndex(0);
    setStatus({});
    updateNotice();
    updateActions();
    updateEngineStatus();
}

void ChatView::refresh()
{
    if (!m_workspace)
        return;
    refreshExperts();
    refreshList();
    // The engine serves the run and experts it found when it loaded.
    if (ServingEngine* engine = m_engine->engine(); engine && !isBusy()) {
        std::vector<int> served;
        for (const ServedExpert& expert : engine->experts())
            served.push_back(expert.id);
        std::vector<int> trained;
        for (const ExpertLabel& expert : m_experts)
            trained.push_back(expert.id);
        if (engine->runId() != m_activeRun || served != trained)
            reloadEngine();
    }
    updateNotice();
}

void ChatView::refreshExperts()
{
    m_keywords.clear();
    m_experts.clear();
    m_clusterCount = 0;
    try {
        m_activeRun = activeClusterRun(*m_workspace);
        if (m_activeRun != 0) {
            const std::vector<ClusterInfo> clusters = listClusters(*m_workspace, m_activeRun);
            m_clusterCount = int(clusters.size());
            for (const ClusterInfo& cluster : clusters)
                m_keywords.insert(cluster.cluster, joinKeywords(cluster.keywords));
            for (const ExpertInfo& expert : TrainingQueue(*m_workspace).experts(m_activeRun))
                m_experts.push_back({expert.cluster, m_keywords.value(expert.cluster)});
            std::sort(m_experts.begin(), m_experts.end(),
                      [](const ExpertLabel& a, const ExpertLabel& b) { return a.id < b.id; });
        }
    } catch (const std::exception& e) {
        setStatus(QString::fromUtf8(e.what()), true);
    }
    m_settings->setExperts(m_experts);
    updateEngineStatus();
}

void ChatView::refreshList()
{
    if (!m_workspace)
        return;
    std::vector<Conversation> conversations;
    try {
        conversations = ConversationStore(*m_workspace).list();
    } catch (const std::exception& e) {
        setStatus(QString::fromUtf8(e.what()), true);
        return;
    }
    const QSignalBlocker block(m_list);
    m_list->clear();
    for (const Conversation& c : conversations) {
        auto* item = new QListWidgetItem(fromStd(c.title));
        item->setData(kIdRole, qint64(c.id));
        const QString count = c.messageCount == 1
                                  ? tr("1 message")
                                  : tr("%1 messages").arg(QLocale().toString(c.messageCount));
        const QString when = shortWhen(c.updatedAt);
        item->setData(kSubtitleRole,
                      when.isEmpty() ? count : tr("%1 · %2").arg(count, when));
        item->setToolTip(fromStd(c.title));
        item->setFlags(item->flags() | Qt::ItemIsEditable);
        m_list->addItem(item);
        if (c.id == m_conversation)
            m_list->setCurrentItem(item);
    }
    updateActions();
}

void ChatView::selectListItem()
{
    const QSignalBlocker block(m_list);
    QListWidgetItem* current = nullptr;
    for (int row = 0; row < m_list->count(); ++row) {
        if (m_list->item(row)->data(kIdRole).toLongLong() == m_conversation)
            current = m_list->item(row);
    }
    m_list->setCurrentItem(current);
}

void ChatView::reloadEngine()
{
    if (!m_workspace)
        return;
    for (auto& [id, exchange] : m_exchanges) {
        for (Answer& answer : exchange.answers) {
            if (!answer.done && answer.widget)
                answer.widget->setError(tr("Stopped: the model was reloaded."));
        }
    }
    m_exchanges.clear();
    m_exchangeOf.clear();
    m_engineError.clear();
    m_engine->open(QString::fromStdString(m_workspace->directory()),
                   AppSettings::servingOptions());
    updateEngineStatus();
    updateNotice();
    updateActions();
}

void ChatView::openEngineIfNeeded()
{
    if (m_workspace && !m_engine->isOpen() && !m_engine->isOpening() && m_engineError.isEmpty())
        reloadEngine();
}

void ChatView::onEngineOpened()
{
    m_engineError.clear();
    // The engine's view of the run is the one requests get; the labels follow it.
    if (ServingEngine* engine = m_engine->engine()) {
        std::vector<ExpertLabel> experts;
        for (const ServedExpert& expert : engine->experts())
            experts.push_back({expert.id, m_keywords.contains(expert.id)
                                              ? m_keywords.value(expert.id)
                                              : joinKeywords(expert.keywords)});
        m_experts = experts;
        m_settings->setExperts(m_experts);
    }
    updateEngineStatus();
    updateNotice();
    updateActions();
    emit engineReady({});
}

void ChatView::onEngineFailed(const QString& message)
{
    m_engineError = message;
    updateEngineStatus();
    updateNotice();
    updateActions();
    emit engineReady(message);
}

void ChatView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (!m_workspace)
        return;
    // Experts may have been trained, or the active run changed, while another view was shown
    // (also before the engine was first opened: the notice reads the run found here).
    refresh();
    openEngineIfNeeded();
}

bool ChatView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_scroll->viewport() && event->type() == QEvent::Resize) {
        const int width = m_scroll->viewport()->width() - 2 * kTranscriptMarginX;
        for (TranscriptItem* item : std::as_const(m_items))
            item->setAvailableWidth(width);
    }
    return QWidget::eventFilter(watched, event);
}

// ---------------------------------------------------------------------------------------------

void ChatView::updateEngineStatus()
{
    QString text;
    if (!m_workspace) {
        text.clear();
    } else if (m_engine->isOpening()) {
        text = tr("Loading the base model and router…");
    } else if (!m_engineError.isEmpty()) {
        text = tr("The model could not be loaded.");
    } else if (ServingEngine* engine = m_engine->engine()) {
        const QString device = fromStd(engine->device());
        const QString base = QFileInfo(fromStd(engine->baseModelDirectory())).fileName();
        const int experts = int(engine->experts().size());
        QString served;
        if (!engine->hasRouter())
            served = tr("no clustering run: the base answers");
        else if (experts == 0)
            served = tr("no trained experts: the base answers");
        else
            served = (experts == 1 ? tr("1 expert") : tr("%1 experts").arg(experts))
                     + (m_clusterCount > 0 ? tr(" of %1 clusters").arg(m_clusterCount)
                                           : QString());
        text = tr("Base: %1 · %2 · %3")
                   .arg(base, device == QLatin1String("cpu") ? tr("CPU") : device, served);
    }
    m_engineStatus->setText(text);
}

void ChatView::updateNotice()
{
    enum class Tone { Info, Warning, Error };
    Tone tone = Tone::Info;
    QString text;
    QString button;
    std::function<void()> action;
    if (!m_workspace) {
        // nothing to say
    } else if (!m_engineError.isEmpty()) {
        tone = Tone::Error;
        text = tr("The model could not be loaded: %1").arg(m_engineError);
        button = tr("Try again");
        action = [this] {
            m_engineError.clear();
            reloadEngine();
        };
    } else if (m_activeRun == 0) {
        tone = Tone::Warning;
        text = tr("This workspace has no clustering run yet, so questions are not routed: the "
                  "base model answers them. Make a run on the Cluster map, then train experts "
                  "in Experts & training.");
        button = tr("Experts & training");
        action = [this] { emit expertsViewRequested(); };
    } else if (m_experts.empty()) {
        text = tr("No expert is trained yet, so the base model answers every question (the "
                  "badge still shows where each one would go). Train experts in Experts & "
                  "training.");
        button = tr("Experts & training");
        action = [this] { emit expertsViewRequested(); };
    }
    m_notice->setVisible(!text.isEmpty());
    if (text.isEmpty())
        return;
    m_noticeText->setText(text);
    const QStyle::StandardPixmap icon = tone == Tone::Error     ? QStyle::SP_MessageBoxCritical
                                        : tone == Tone::Warning ? QStyle::SP_MessageBoxWarning
                                                                : QStyle::SP_MessageBoxInformation;
    m_noticeIcon->setPixmap(style()->standardIcon(icon).pixmap(20, 20));
    const QString colours = tone == Tone::Error     ? QStringLiteral("#fdecea; border: 1px solid #f0b9b4")
                            : tone == Tone::Warning ? QStringLiteral("#fff6e5; border: 1px solid #f0d29a")
                                                    : QStringLiteral("#e9f3fc; border: 1px solid #b9d5f1");
    m_notice->setStyleSheet(
        QStringLiteral("QFrame#chatNotice { background: %1; border-radius: 8px; }").arg(colours));
    // A single '&' would mark a shortcut key (an underlined space in "Experts & training").
    m_noticeButton->setText(QString(button).replace(QLatin1Char('&'), QLatin1String("&&")));
    m_noticeButton->setVisible(!button.isEmpty());
    m_noticeButton->disconnect(this);
    if (action)
        connect(m_noticeButton, &QPushButton::clicked, this, action);
}

QString ChatView::noticeText() const
{
    return m_notice->isVisibleTo(this) ? m_noticeText->text() : QString();
}

QString ChatView::statusText() const { return m_status->text(); }

void ChatView::setStatus(const QString& text, bool error)
{
    m_status->setText(text);
    QPalette palette = m_status->palette();
    palette.setColor(QPalette::WindowText,
                     error ? QColor(0xcf, 0x22, 0x2e)
                           : mutedColour(this));
    m_status->setPalette(palette);
}

void ChatView::updateActions()
{
    const bool ready = m_workspace && m_engine->isOpen();
    const bool answering = isAnswering();
    const bool hasText = !m_input->toPlainText().trimmed().isEmpty();
    m_send->setEnabled(ready && !answering && hasText);
    m_compare->setEnabled(ready && !answering && hasText);
    m_stop->setEnabled(answering);
    m_input->setEnabled(m_workspace != nullptr);
    m_newButton->setEnabled(m_workspace != nullptr);
    const bool selected = m_workspace && m_list->currentItem();
    m_renameButton->setEnabled(selected);
    m_deleteButton->setEnabled(selected);
    m_exportButton->setEnabled(selected);
    m_settings->setEnabled(m_workspace != nullptr);
}

bool ChatView::isAnswering() const
{
    for (const auto& [id, exchange] : m_exchanges) {
        if (exchange.conversation == m_conversation && m_conversation != 0)
            return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------

qint64 ChatView::newConversation(const QString& title)
{
    if (!m_workspace)
        return 0;
    saveSettings();
    Conversation conversation;
    conversation.title = (title.isEmpty() ? tr("New conversation") : title).toStdString();
    conversation.source = "app";
    m_settings->applyTo(conversation);
    try {
        const qint64 id = ConversationStore(*m_workspace).create(conversation);
        refreshList();
        showConversation(id);
        m_input->setFocus();
        return id;
    } catch (const std::exception& e) {
        setStatus(tr("Cannot create a conversation: %1").arg(QString::fromUtf8(e.what())), true);
        return 0;
    }
}

bool ChatView::renameConversation(qint64 id, const QString& title)
{
    const bool renamed = storeTitle(id, title);
    refreshList();
    return renamed;
}

bool ChatView::storeTitle(qint64 id, const QString& title)
{
    if (!m_workspace)
        return false;
    const QString trimmed = title.simplified();
    try {
        ConversationStore store(*m_workspace);
        Conversation conversation = store.get(id);
        if (trimmed.isEmpty() || fromStd(conversation.title) == trimmed)
            return false; // an empty title is refused: the old one stays
        conversation.title = trimmed.toStdString();
        store.update(conversation);
    } catch (const std::exception& e) {
        setStatus(tr("Cannot rename the conversation: %1").arg(QString::fromUtf8(e.what())),
                  true);
        return false;
    }
    return true;
}

void ChatView::askToDelete()
{
    QListWidgetItem* item = m_list->currentItem();
    if (!item)
        return;
    const qint64 id = item->data(kIdRole).toLongLong();
    auto* box = new QMessageBox(
        QMessageBox::Question, tr("Delete conversation"),
        tr("Delete “%1” and all its messages? This cannot be undone.").arg(item->text()),
        QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setObjectName("deleteConversationBox");
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, id](int result) {
        if (result == QMessageBox::Yes)
            deleteConversation(id);
    });
    box->open();
}

bool ChatView::deleteConversation(qint64 id)
{
    if (!m_workspace)
        return false;
    if (id == m_conversation)
        m_saveTimer->stop(); // nothing left to save the settings to
    for (auto it = m_exchanges.begin(); it != m_exchanges.end();) {
        if (it->second.conversation == id) {
            for (const Answer& answer : it->second.answers) {
                m_engine->cancel(answer.request);
                m_exchangeOf.remove(answer.request);
            }
            it = m_exchanges.erase(it);
        } else {
            ++it;
        }
    }
    try {
        ConversationStore(*m_workspace).remove(id);
    } catch (const std::exception& e) {
        setStatus(tr("Cannot delete the conversation: %1").arg(QString::fromUtf8(e.what())),
                  true);
        return false;
    }
    if (id == m_conversation) {
        std::vector<Conversation> rest;
        try {
            rest = ConversationStore(*m_workspace).list();
        } catch (const std::exception&) {
        }
        refreshList();
        showConversation(rest.empty() ? 0 : rest.front().id);
    } else {
        refreshList();
    }
    return true;
}

bool ChatView::exportConversation(qint64 id, const QString& path, ExportFormat format,
                                  QString* error)
{
    const auto fail = [error](const QString& message) {
        if (error)
            *error = message;
        return false;
    };
    if (!m_workspace)
        return fail(tr("No workspace is open."));
    std::string text;
    try {
        ConversationStore store(*m_workspace);
        text = format == ExportFormat::Markdown ? store.exportMarkdown(id) : store.exportJson(id);
    } catch (const std::exception& e) {
        return fail(QString::fromUtf8(e.what()));
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return fail(tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path),
                                                  file.errorString()));
    file.write(text.data(), qint64(text.size()));
    if (!file.commit())
        return fail(tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path),
                                                  file.errorString()));
    return true;
}

void ChatView::chooseExport(ExportFormat format)
{
    QListWidgetItem* item = m_list->currentItem();
    if (!item || !m_workspace)
        return;
    const qint64 id = item->data(kIdRole).toLongLong();
    QString base = item->text().toLower();
    base.replace(QRegularExpression(QStringLiteral("[^\\w]+")), QStringLiteral("-"));
    base = base.left(60);
    while (base.startsWith(QLatin1Char('-')))
        base.remove(0, 1);
    while (base.endsWith(QLatin1Char('-')))
        base.chop(1);
    if (base.isEmpty())
        base = QStringLiteral("conversation-%1").arg(id);
    const bool markdown = format == ExportFormat::Markdown;
    const QString suggested = QDir(QDir::homePath()).filePath(
        base + (markdown ? QStringLiteral(".md") : QStringLiteral(".json")));
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export conversation"), suggested,
        markdown ? tr("Markdown (*.md);;All files (*)") : tr("JSON (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QString error;
    if (exportConversation(id, path, format, &error))
        setStatus(tr("Saved %1.").arg(QDir::toNativeSeparators(path)));
    else
        setStatus(error, true);
}

// ---------------------------------------------------------------------------------------------

void ChatView::showConversation(qint64 id)
{
    saveSettings(); // the settings of the conversation shown before
    m_conversation = 0;
    if (m_workspace && id != 0) {
        try {
            const Conversation conversation = ConversationStore(*m_workspace).get(id);
            m_conversation = id;
            m_settings->setConversation(conversation);
        } catch (const std::exception& e) {
            setStatus(QString::fromUtf8(e.what()), true);
        }
    }
    selectListItem();
    rebuildTranscript();
    updateActions();
}

void ChatView::clearTranscript()
{
    for (TranscriptItem* item : std::as_const(m_items))
        delete item;
    m_items.clear();
}

void ChatView::addItem(TranscriptItem* item)
{
    item->setAvailableWidth(m_scroll->viewport()->width() - 2 * kTranscriptMarginX);
    m_transcriptLayout->insertWidget(m_transcriptLayout->count() - 1, item);
    m_items.append(item);
    if (auto* answer = qobject_cast<AssistantMessage*>(item))
        addAnswerWidget(answer);
    if (auto* row = qobject_cast<ComparisonRow*>(item)) {
        addAnswerWidget(row->left());
        addAnswerWidget(row->right());
    }
    m_stack->setCurrentIndex(1);
}

AssistantMessage* ChatView::addAnswerWidget(AssistantMessage* message)
{
    connect(message, &AssistantMessage::routeRequested, this, &ChatView::showExpertOnMap);
    return message;
}

QString ChatView::choiceHeading(const QString& choice) const
{
    if (choice == QLatin1String("auto"))
        return tr("Routed (Auto)");
    if (choice == QLatin1String("base"))
        return tr("Base only");
    bool ok = false;
    const int expert = choice.toInt(&ok);
    return ok ? expertTitle(expert, m_keywords.value(expert)) : choice;
}

QString ChatView::whoAnswers(const QString& choice) const
{
    if (choice == QLatin1String("auto"))
        return tr("Routing and answering…");
    if (choice == QLatin1String("base"))
        return tr("The base model is answering…");
    return tr("Expert %1 is answering…").arg(choice);
}

AnswerInfo ChatView::infoOf(const ChatMessage& message, const QString& query) const
{
    AnswerInfo info;
    info.answeredBy = fromStd(message.answeredBy);
    info.expertChoice = fromStd(message.expertChoice);
    const int expert = info.expert();
    if (expert >= 0)
        info.keywords = m_keywords.value(expert);
    info.distance = message.distance;
    for (const RouteCandidate& candidate : candidatesFromJson(message.candidatesJson))
        info.candidates.append({candidate.expert, candidate.distance});
    info.query = query;
    info.completionTokens = message.completionTokens;
    info.tokensPerSecond = message.tokensPerSecond;
    info.latencySeconds = message.latencySeconds;
    info.stopReason = fromStd(message.stopReason);
    return info;
}

AnswerInfo ChatView::infoOf(const CompletionResult& result, const QString& choice,
                            const QString& query) const
{
    AnswerInfo info;
    info.answeredBy = fromStd(result.answeredBy);
    info.expertChoice = choice;
    const int expert = info.expert();
    if (expert >= 0) {
        info.keywords = result.keywords.empty() ? m_keywords.value(expert)
                                                : joinKeywords(result.keywords);
    }
    for (const RouteCandidate& candidate : result.route.candidates)
        info.candidates.append({candidate.expert, candidate.distance});
    info.distance = answerDistance(result);
    info.query = query;
    info.completionTokens = int(result.generation.tokens.size());
    info.tokensPerSecond = tokensPerSecond(result.generation);
    info.latencySeconds = result.totalSeconds;
    info.stopReason = fromStd(result.generation.stopReason);
    return info;
}

void ChatView::rebuildTranscript()
{
    clearTranscript();
    std::vector<ChatMessage> messages;
    if (m_workspace && m_conversation != 0) {
        try {
            messages = ConversationStore(*m_workspace).messages(m_conversation);
        } catch (const std::exception& e) {
            setStatus(QString::fromUtf8(e.what()), true);
        }
    }
    QString query;
    for (size_t i = 0; i < messages.size(); ++i) {
        const ChatMessage& message = messages[i];
        const QString content = fromStd(message.content);
        if (message.role == "user") {
            query = content;
            addItem(new UserMessage(content));
            continue;
        }
        if (message.role != "assistant")
            continue;
        // Two answers to one question were a comparison: side by side again.
        if (i + 1 < messages.size() && messages[i + 1].role == "assistant") {
            const ChatMessage& other = messages[i + 1];
            auto* row = new ComparisonRow(choiceHeading(fromStd(message.expertChoice)),
                                          choiceHeading(fromStd(other.expertChoice)));
            row->left()->setText(content);
            row->left()->setInfo(infoOf(message, query));
            row->right()->setText(fromStd(other.content));
            row->right()->setInfo(infoOf(other, query));
            addItem(row);
            ++i;
            continue;
        }
        auto* answer = new AssistantMessage;
        answer->setText(content);
        answer->setInfo(infoOf(message, query));
        addItem(answer);
    }
    // Answers still being generated for this conversation.
    for (auto& [id, exchange] : m_exchanges) {
        if (exchange.conversation == m_conversation && m_conversation != 0)
            attachExchange(exchange);
    }
    m_stack->setCurrentIndex(m_items.isEmpty() ? 0 : 1);
    scrollToBottom();
}

// Adds widgets for an exchange's answers (its question is in the transcript already).
void ChatView::attachExchange(Exchange& exchange)
{
    std::vector<AssistantMessage*> widgets;
    if (exchange.comparison && exchange.answers.size() == 2) {
        auto* row = new ComparisonRow(choiceHeading(exchange.answers[0].choice),
                                      choiceHeading(exchange.answers[1].choice));
        addItem(row);
        widgets = {row->left(), row->right()};
    } else {
        for (size_t i = 0; i < exchange.answers.size(); ++i) {
            auto* message = new AssistantMessage;
            addItem(message);
            widgets.push_back(message);
        }
    }
    for (size_t i = 0; i < exchange.answers.size(); ++i) {
        Answer& answer = exchange.answers[i];
        AssistantMessage* widget = widgets[i];
        answer.widget = widget;
        widget->setText(answer.text);
        if (!answer.error.isEmpty()) {
            widget->setError(answer.error);
        } else if (answer.done && answer.result) {
            widget->setText(fromStd(chatAnswerText(answer.result->generation.text)));
            widget->setInfo(infoOf(*answer.result, answer.choice, exchange.query));
        } else {
            widget->setStreaming(true, whoAnswers(answer.choice));
        }
    }
}

void ChatView::scrollToBottom()
{
    m_stickToBottom = true;
    QScrollBar* bar = m_scroll->verticalScrollBar();
    bar->setValue(bar->maximum());
}

QList<AssistantMessage*> ChatView::answers() const
{
    QList<AssistantMessage*> out;
    for (TranscriptItem* item : m_items) {
        if (auto* answer = qobject_cast<AssistantMessage*>(item))
            out << answer;
        else if (auto* row = qobject_cast<ComparisonRow*>(item))
            out << row->left() << row->right();
    }
    return out;
}

QList<UserMessage*> ChatView::questions() const
{
    QList<UserMessage*> out;
    for (TranscriptItem* item : m_items) {
        if (auto* question = qobject_cast<UserMessage*>(item))
            out << question;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

void ChatView::scheduleSave()
{
    if (m_workspace && m_conversation != 0)
        m_saveTimer->start();
}

void ChatView::saveSettings()
{
    const bool pending = m_saveTimer->isActive();
    m_saveTimer->stop();
    if (!pending || !m_workspace || m_conversation == 0)
        return;
    try {
        ConversationStore store(*m_workspace);
        Conversation conversation = store.get(m_conversation);
        m_settings->applyTo(conversation);
        store.update(conversation);
    } catch (const std::exception& e) {
        setStatus(tr("The settings were not saved: %1").arg(QString::fromUtf8(e.what())), true);
    }
}

bool ChatView::send() { return ask(false); }

bool ChatView::compare() { return ask(true); }

bool ChatView::ask(bool comparison)
{
    const QString query = m_input->toPlainText().trimmed();
    if (query.isEmpty() || !m_workspace)
        return false;
    ServingEngine* engine = m_engine->engine();
    if (!engine) {
        setStatus(m_engine->isOpening() ? tr("The model is still loading; send again in a "
                                             "moment.")
                                        : tr("The model is not loaded."),
                  true);
        return false;
    }
    if (isAnswering()) {
        setStatus(tr("Wait for the answer, or stop it, before asking again."), true);
        return false;
    }
    saveSettings();

    // The conversation: the shown one, or a new one (named after the question) with the panel's
    // settings.
    std::optional<ChatSession> session;
    try {
        if (m_conversation != 0) {
            session.emplace(*m_workspace, m_conversation);
        } else {
            Conversation fresh;
            fresh.source = "app";
            m_settings->applyTo(fresh);
            session.emplace(*m_workspace, fresh);
        }
    } catch (const std::exception& e) {
        setStatus(QString::fromUtf8(e.what()), true);
        return false;
    }
    session->setPlaceholderTitle(tr("New conversation").toStdString());

    QStringList choices = {fromStd(session->conversation().expertChoice)};
    if (comparison) {
        choices << m_settings->compareChoice();
        if (choices[0] == choices[1]) {
            setStatus(tr("Compare needs two different choices: pick another one under Compare "
                         "with."),
                      true);
            return false;
        }
    }

    // The prompt under the one budget rule (chatturn.h), then the question recorded.
    ChatTurn turn;
    try {
        turn = session->ask(query.toStdString(), *engine);
    } catch (const PromptTooLongError& e) {
        setStatus(tr("The question is too long: with the system prompt it has %1 tokens, "
                     "and the model's context holds %2.")
                      .arg(e.promptTokens)
                      .arg(e.context),
                  true);
        return false;
    } catch (const std::exception& e) {
        setStatus(tr("The question was not recorded: %1").arg(QString::fromUtf8(e.what())),
                  true);
        return false;
    }
    m_conversation = session->conversationId();
    m_lastPrompt = turn.prompt;

    const int exchangeId = m_nextExchange++;
    Exchange& exchange = m_exchanges[exchangeId];
    exchange.conversation = m_conversation;
    exchange.query = query;
    exchange.turn = turn;
    exchange.comparison = comparison;
    for (const QString& choice : choices) {
        Answer answer;
        answer.choice = choice;
        QString error;
        try {
            answer.request =
                m_engine->submit(turn, ExpertChoice::parse(choice.toStdString()), &error);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        if (answer.request == 0) {
            answer.done = true;
            answer.error = error;
        } else {
            m_exchangeOf.insert(answer.request, exchangeId);
        }
        exchange.answers.push_back(std::move(answer));
    }

    {
        const QSignalBlocker block(m_input);
        m_input->clear();
        m_input->setFixedHeight(m_input->sizeHint().height());
    }
    addItem(new UserMessage(query));
    attachExchange(exchange);
    scrollToBottom();
    refreshList();
    setStatus({});
    updateActions();
    settle(exchangeId); // every request may have been refused
    return true;
}

ChatView::Answer* ChatView::answerOf(quint64 request, int* exchangeId)
{
    const auto found = m_exchangeOf.constFind(request);
    if (found == m_exchangeOf.constEnd())
        return nullptr;
    const auto exchange = m_exchanges.find(*found);
    if (exchange == m_exchanges.end())
        return nullptr;
    for (Answer& answer : exchange->second.answers) {
        if (answer.request == request) {
            if (exchangeId)
                *exchangeId = *found;
            return &answer;
        }
    }
    return nullptr;
}

void ChatView::onText(quint64 request, const QString& text)
{
    Answer* answer = answerOf(request);
    if (!answer)
        return;
    // The text comes through the turn's AnswerText: never whitespace first.
    const bool started = !answer->text.isEmpty();
    answer->text += text;
    if (answer->widget) {
        if (started)
            answer->widget->appendText(text);
        else
            answer->widget->setText(answer->text);
    }
}

void ChatView::onFinished(quint64 request, const CompletionResult& result)
{
    int exchangeId = 0;
    Answer* answer = answerOf(request, &exchangeId);
    if (!answer)
        return;
    answer->done = true;
    answer->result = result;
    if (answer->widget) {
        answer->widget->setStreaming(false);
        answer->widget->setText(fromStd(chatAnswerText(result.generation.text)));
        answer->widget->setInfo(
            infoOf(result, answer->choice, m_exchanges.at(exchangeId).query));
    }
    settle(exchangeId);
}

void ChatView::onFailed(quint64 request, const QString& message)
{
    int exchangeId = 0;
    Answer* answer = answerOf(request, &exchangeId);
    if (!answer)
        return;
    answer->done = true;
    answer->error = message;
    if (answer->widget)
        answer->widget->setError(tr("No answer: %1").arg(message));
    settle(exchangeId);
}

// Records an exchange once all its answers have ended.
void ChatView::settle(int exchangeId)
{
    const auto found = m_exchanges.find(exchangeId);
    if (found == m_exchanges.end())
        return;
    Exchange& exchange = found->second;
    for (const Answer& answer : exchange.answers) {
        if (!answer.done)
            return;
    }
    for (const Answer& answer : exchange.answers)
        m_exchangeOf.remove(answer.request);
    const Exchange done = std::move(exchange);
    m_exchanges.erase(found);
    record(done);
    if (done.conversation == m_conversation)
        refreshList();
    updateActions();
    emit exchangeFinished(done.conversation);
}

void ChatView::record(const Exchange& exchange)
{
    if (!m_workspace)
        return;
    try {
        ChatSession session(*m_workspace, exchange.conversation);
        for (const Answer& answer : exchange.answers) {
            if (!answer.result)
                continue; // failed: nothing to record
            const CompletionResult& result = *answer.result;
            session.record(exchange.turn.answer(result, chatAnswerText(result.generation.text),
                                                answer.choice.toStdString()));
        }
    } catch (const std::exception& e) {
        setStatus(tr("The answer was not recorded: %1").arg(QString::fromUtf8(e.what())), true);
    }
}

void ChatView::stop()
{
    for (const auto& [id, exchange] : m_exchanges) {
        if (exchange.conversation != m_conversation)
            continue;
        for (const Answer& answer : exchange.answers) {
            if (!answer.done)
                m_engine->cancel(answer.request);
        }
    }
    m_stop->setEnabled(false);
}

} // namespace moin::ui
