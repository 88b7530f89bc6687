#pragma once
// The Chat view: conversations of the open workspace, each question answered by the expert its
// text routes to (or the base, or a chosen expert), streamed as it is generated, with a badge
// saying who answered and how close the question was; a comparison of two answers side by side.
#include "messagewidget.h"
#include "moin/chatturn.h"
#include "moin/conversations.h"
#include "moin/serving.h"

#include <QHash>
#include <QList>
#include <QPair>
#include <QPlainTextEdit>
#include <QPointer>
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

class QFrame;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QScrollArea;
class QStackedWidget;
class QTimer;
class QToolButton;
class QVBoxLayout;

namespace moin::ui {

class ChatEngine;
class ChatSettingsPanel;

/// The question box: Enter sends, Shift+Enter starts a new line; it grows with its text up to a
/// few lines.
class ChatInput : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit ChatInput(QWidget* parent = nullptr);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void submitted();

protected:
    void keyPressEvent(QKeyEvent* event) override;
};

/// Left, the conversations (newest first; new, rename, delete, export as Markdown or JSON);
/// centre, the transcript and the question box; right, the shown conversation's settings.
///
/// The workspace is read and written on the UI thread in small transactions (conversations and
/// messages); generation runs in a ChatEngine, whose serving engine is loaded on a worker thread
/// the first time the view is shown and decodes on its own thread.
class ChatView : public QWidget {
    Q_OBJECT
public:
    enum class ExportFormat { Markdown, Json };

    explicit ChatView(QWidget* parent = nullptr);
    /// Stops every answer and waits for the engine to close.
    ~ChatView() override;

    /// Shows `workspace` (valid until clear() or the next showWorkspace()): its conversations at
    /// once, the model once it has loaded (when the view is first visible).
    void showWorkspace(Workspace& workspace);
    /// Stops every answer, closes the engine and forgets the workspace.
    void clear();
    /// Re-reads the conversations and the trained experts; the engine is reloaded (when no
    /// answer is running) if the active run or its trained experts changed.
    void refresh();
    /// Closes the engine and loads it again (answers running are stopped).
    void reloadEngine();

    /// The shown conversation (0: none yet; the first question creates one).
    qint64 currentConversation() const { return m_conversation; }
    void showConversation(qint64 id);
    /// Creates a conversation with the panel's settings and shows it; returns its id (0 if the
    /// workspace refused, with the reason shown).
    qint64 newConversation(const QString& title = {});
    bool renameConversation(qint64 id, const QString& title);
    /// Stops its answers and deletes it with its messages, without asking.
    bool deleteConversation(qint64 id);
    /// Writes the conversation to `path` (atomically). False with `error` set on failure.
    bool exportConversation(qint64 id, const QString& path, ExportFormat format,
                            QString* error = nullptr);

    /// Sends the question box's text as the Send button does; false (the reason shown in the
    /// status line) if nothing was sent.
    bool send();
    /// Sends it to the settings' choice and to the comparison's choice, side by side.
    bool compare();
    /// Stops the shown conversation's answers.
    void stop();
    /// True while an answer of the shown conversation is being generated.
    bool isAnswering() const;
    /// True while any answer (of any conversation) is being generated.
    bool isBusy() const { return !m_exchanges.empty(); }

    ChatEngine* engine() const { return m_engine; }
    ChatSettingsPanel* settingsPanel() const { return m_settings; }
    ChatInput* input() const { return m_input; }
    QPushButton* sendButton() const { return m_send; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* compareButton() const { return m_compare; }
    QListWidget* conversationList() const { return m_list; }
    /// Answers in the transcript, in order (a comparison gives its left, then its right one).
    QList<AssistantMessage*> answers() const;
    QList<UserMessage*> questions() const;
    /// The note above the transcript (no experts, no run, the model failed), or empty.
    QString noticeText() const;
    /// The status line under the question box.
    QString statusText() const;
    /// The prompt of the last question sent: what the model read (ChatSession::ask).
    const ChatPrompt& lastPrompt() const { return m_lastPrompt; }

signals:
    /// An answer's badge was clicked: show where `query` went (`expert`, and the runner-ups as
    /// (expert, distance), best first).
    void showExpertOnMap(int expert, const QString& query,
                         const QList<QPair<int, float>>& candidates);
    /// The person asked for the Experts & training view (from the no-experts note).
    void expertsViewRequested();
    /// The engine loaded (or failed to: `error` says why).
    void engineReady(const QString& error);
    /// Every answer to a question of `conversation` ended and was recorded.
    void exchangeFinished(qint64 conversation);

protected:
    void showEvent(QShowEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    /// One answer being generated.
    struct Answer {
        quint64 request = 0;
        QString choice; // "auto", "base", an expert id
        QString text;
        bool done = false;
        QString error;
        std::optional<CompletionResult> result;
        QPointer<AssistantMessage> widget;
    };
    /// A question and its answers (two for a comparison), recorded when all have ended.
    struct Exchange {
        qint64 conversation = 0;
        QString query;
        ChatTurn turn;
        bool comparison = false;
        std::vector<Answer> answers;
    };

    QWidget* buildSidebar();
    QWidget* buildCentre();
    QWidget* buildHeader();
    QWidget* buildPlaceholder();
    bool ask(bool comparison);
    void startExchange(int exchange);
    void onText(quint64 request, const QString& text);
    void onFinished(quint64 request, const CompletionResult& result);
    void onFailed(quint64 request, const QString& message);
    void settle(int exchange);
    void record(const Exchange& exchange);
    Answer* answerOf(quint64 request, int* exchange = nullptr);
    void rebuildTranscript();
    void clearTranscript();
    void addItem(TranscriptItem* item);
    AssistantMessage* addAnswerWidget(AssistantMessage* message);
    void attachExchange(Exchange& exchange);
    void scrollToBottom();
    void refreshList();
    void selectListItem();
    bool storeTitle(qint64 id, const QString& title);
    void refreshExperts();
    void updateNotice();
    void updateActions();
    void updateEngineStatus();
    void setStatus(const QString& text, bool error = false);
    void scheduleSave();
    void saveSettings();
    void openEngineIfNeeded();
    void onEngineOpened();
    void onEngineFailed(const QString& message);
    void askToDelete();
    void chooseExport(ExportFormat format);
    AnswerInfo infoOf(const ChatMessage& message, const QString& query) const;
    AnswerInfo infoOf(const CompletionResult& result, const QString& choice,
                      const QString& query) const;
    QString choiceHeading(const QString& choice) const;
    QString whoAnswers(const QString& choice) const;

    Workspace* m_workspace = nullptr;
    ChatEngine* m_engine = nullptr;
    QString m_engineError;
    qint64 m_conversation = 0;
    ChatPrompt m_lastPrompt;
    std::map<int, Exchange> m_exchanges;
    QHash<quint64, int> m_exchangeOf; // request id -> exchange id
    int m_nextExchange = 1;
    /// Keywords of every cluster of the active run, by cluster id.
    QHash<int, QString> m_keywords;
    std::vector<ExpertLabel> m_experts;
    qint64 m_activeRun = 0;
    int m_clusterCount = 0;
    bool m_stickToBottom = true;

    QListWidget* m_list = nullptr;
    QPushButton* m_newButton = nullptr;
    QToolButton* m_renameButton = nullptr;
    QToolButton* m_deleteButton = nullptr;
    QToolButton* m_exportButton = nullptr;
    QLabel* m_engineStatus = nullptr;
    QToolButton* m_settingsToggle = nullptr;
    QFrame* m_notice = nullptr;
    QLabel* m_noticeIcon = nullptr;
    QLabel* m_noticeText = nullptr;
    QPushButton* m_noticeButton = nullptr;
    QStackedWidget* m_stack = nullptr; // placeholder | transcript
    QScrollArea* m_scroll = nullptr;
    QWidget* m_transcript = nullptr;
    QVBoxLayout* m_transcriptLayout = nullptr;
    QList<TranscriptItem*> m_items;
    ChatInput* m_input = nullptr;
    QPushButton* m_send = nullptr;
    QPushButton* m_stop = nullptr;
    QPushButton* m_compare = nullptr;
    QLabel* m_status = nullptr;
    QWidget* m_settingsArea = nullptr;
    ChatSettingsPanel* m_settings = nullptr;
    QTimer* m_saveTimer = nullptr;
};

} // namespace moin::ui
