// The Chat view on the offscreen platform, against a real serving engine: a tiny base with two
// tiny experts trained through `moin train-worker`. A question typed and sent is answered by the
// expert ServingEngine::route picks, streamed and recorded with its badge fields; "Base only"
// answers from the base; Stop leaves a "cancelled" answer; Compare shows two answers side by
// side; conversations are listed, renamed, deleted and exported; a workspace without a
// clustering run still answers from the base; a badge click reaches the Cluster map through the
// main window. Screenshot: build/screenshots/chat.png.
#include "testsupport.h"

#include "../ui/src/chatengine.h"
#include "../ui/src/chatsettingspanel.h"
#include "../ui/src/chatview.h"
#include "../ui/src/clustermapview.h"
#include "../ui/src/messagewidget.h"
#include "moin/clustering.h"
#include "moin/conversations.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/training.h"
#include "moin/ui/mainwindow.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/workspace.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFontMetrics>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <optional>
#include <random>
#include <set>

using moin::ui::AssistantMessage;
using moin::ui::ChatView;

namespace {

constexpr int kAnswerTimeoutMs = 120000;

using testsupport::topicText;

/// The shared tiny spec, shortened: six steps train two experts in seconds.
moin::TrainingSpec tinySpec(int64_t runId, int cluster)
{
    moin::TrainingSpec spec = testsupport::tinyTrainingSpec(runId, cluster);
    spec.steps = 6;
    spec.evalEvery = 3;
    spec.checkpointEvery = 3;
    return spec;
}

void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}

/// Types `text` into the view's question box and clicks `button`.
void ask(ChatView& view, const QString& text, QPushButton* button)
{
    view.input()->setFocus();
    QTest::keyClicks(view.input(), text);
    QCOMPARE(view.input()->toPlainText(), text);
    QTRY_VERIFY(button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
}

QString chipsOf(const AssistantMessage* answer) { return answer->badge()->summary(); }

} // namespace

class TestChatView : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void startsEmptyAndLoadsTheEngine();
    void longUnbrokenTextWrapsInsideTheBubble();
    void answerComesFromTheRoutedExpert();
    void shiftEnterIsANewLineAndEnterSends();
    void baseOnlyAnswersFromTheBase();
    void stopLeavesACancelledAnswer();
    void compareShowsTwoAnswersSideBySide();
    void badgeClickAsksForTheMap();
    void exportsMarkdownAndJson();
    void conversationsListRenameDelete();
    void withoutClusteringTheBaseAnswers();
    void mainWindowShowsTheRouteOnTheMap();

private:
    void waitForExchange(int expectedAnswers);

    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
    QString m_base;
    QString m_dir;
    int64_t m_run = 0;
    std::set<int> m_trained;
    std::optional<moin::Workspace> m_workspace;
    std::unique_ptr<ChatView> m_view;
    QString m_routedQuery;
    int m_routedExpert = -1;
};

void TestChatView::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_chatview");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QVERIFY(m_tmp.isValid());
    const testsupport::TopicWorkspace topics =
        testsupport::makeTopicWorkspace(m_tmp.path(), /*contextPositions=*/1024);
    m_base = topics.baseModel;
    m_dir = topics.directory;
    m_run = topics.runId;
    QVERIFY(m_run > 0);
    // Two of the three clusters get an expert: the third's questions go to the base.
    testsupport::trainTinyExperts(m_dir, m_run, {0, 1}, tinySpec);
    m_workspace = moin::Workspace::open(m_dir.toStdString());
    for (const moin::ExpertInfo& expert : moin::TrainingQueue(*m_workspace).experts(m_run))
        m_trained.insert(expert.cluster);
    QCOMPARE(m_trained, (std::set<int>{0, 1}));
}

void TestChatView::cleanupTestCase()
{
    m_view.reset();
    m_workspace.reset();
}

void TestChatView::longUnbrokenTextWrapsInsideTheBubble()
{
    moin::ui::Bubble bubble(moin::ui::Bubble::Kind::Assistant);
    bubble.show(); // polished: the label has the font it is drawn with
    QCoreApplication::processEvents();
    // A column of about 80 characters of whatever font this machine has: without places to
    // break, the 300 characters would be several columns wide in any font.
    const QFontMetrics metrics(bubble.label()->font());
    const int column = metrics.horizontalAdvance(QString(80, QLatin1Char('x')));
    bubble.setAvailableWidth(column);
    const QString noise = QString(300, QLatin1Char('x')) + " end";
    bubble.setText(noise);
    QCoreApplication::processEvents();
    QCOMPARE(bubble.text(), noise); // what is stored and exported is untouched
    QVERIFY2(bubble.width() <= column,
             qPrintable(QString("bubble %1 px, column %2 px").arg(bubble.width()).arg(column)));
    QVERIFY2(bubble.label()->sizeHint().width() <= column,
             qPrintable(QString("label %1 px, column %2 px")
                            .arg(bubble.label()->sizeHint().width())
                            .arg(column)));
    // Wrapped inside the bubble: its widest unbreakable piece fits, and it is several lines high.
    QVERIFY2(bubble.label()->minimumSizeHint().width() <= bubble.label()->width(),
             qPrintable(QString("the widest unbreakable piece needs %1 px, the label has %2 px")
                            .arg(bubble.label()->minimumSizeHint().width())
                            .arg(bubble.label()->width())));
    QVERIFY(bubble.label()->height() > 3 * bubble.label()->fontMetrics().height());
}

// Waits until no answer is generated any more; the transcript then has `expectedAnswers`.
void TestChatView::waitForExchange(int expectedAnswers)
{
    QTRY_VERIFY_WITH_TIMEOUT(!m_view->isBusy(), kAnswerTimeoutMs);
    QCOMPARE(m_view->answers().size(), expectedAnswers);
}

void TestChatView::startsEmptyAndLoadsTheEngine()
{
    m_view = std::make_unique<ChatView>();
    QSignalSpy ready(m_view.get(), &ChatView::engineReady);
    m_view->resize(1280, 820);
    m_view->showWorkspace(*m_workspace);
    m_view->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_view.get()));
    QVERIFY(ready.count() == 1 || ready.wait(60000));
    QCOMPARE(ready.first().at(0).toString(), QString());
    QVERIFY(m_view->engine()->isOpen());

    QCOMPARE(m_view->conversationList()->count(), 0);
    QCOMPARE(m_view->currentConversation(), qint64(0));
    QVERIFY(m_view->answers().isEmpty());
    QVERIFY(m_view->noticeText().isEmpty()); // two experts are trained
    QVERIFY(!m_view->sendButton()->isEnabled()); // nothing typed yet
    QVERIFY(!m_view->stopButton()->isEnabled());

    // Auto, Base only, a separator and the two experts, each named with its keywords.
    QComboBox* experts = m_view->settingsPanel()->expertCombo();
    QCOMPARE(experts->currentData().toString(), QString("auto"));
    QVERIFY(experts->findData("base") >= 0);
    for (int expert : m_trained) {
        const int index = experts->findData(QString::number(expert));
        QVERIFY(index >= 0);
        QVERIFY2(experts->itemText(index).startsWith(QString("Expert %1 · ").arg(expert)),
                 qPrintable(experts->itemText(index)));
    }
    QCOMPARE(experts->findData("2"), -1); // cluster 2 has no expert

    // A question whose route ends at a trained expert.
    moin::ServingEngine* engine = m_view->engine()->engine();
    for (int topic = 0; topic < 3 && m_routedExpert < 0; ++topic) {
        const QString query = topicText(topic, 7, 12);
        const moin::RouteDecision route = engine->route(query.toStdString());
        if (m_trained.count(route.expert)) {
            m_routedQuery = query;
            m_routedExpert = route.expert;
        }
    }
    QVERIFY(m_routedExpert >= 0);
}

void TestChatView::answerComesFromTheRoutedExpert()
{
    QVERIFY(m_view);
    const moin::RouteDecision route =
        m_view->engine()->engine()->route(m_routedQuery.toStdString());
    QCOMPARE(route.expert, m_routedExpert);

    ask(*m_view, m_routedQuery, m_view->sendButton());
    // The question shows at once, the answer streams in, and the question box is empty again.
    QCOMPARE(m_view->questions().size(), 1);
    QCOMPARE(m_view->questions().first()->text(), m_routedQuery);
    QVERIFY(m_view->input()->toPlainText().isEmpty());
    QVERIFY(m_view->currentConversation() != 0);
    waitForExchange(1);
    if (QTest::currentTestFailed())
        return;
    const QList<AssistantMessage*> answers = m_view->answers();
    AssistantMessage* answer = answers.first();
    QVERIFY(!answer->isStreaming());
    QVERIFY(answer->badge()->isVisible());
    QCOMPARE(answer->badge()->expertText().section(" · ", 0, 0),
             QString("Expert %1").arg(m_routedExpert));
    // Runner-ups as "expert · distance" chips, the speed and the latency.
    const QString chips = chipsOf(answer);
    QVERIFY2(chips.contains("distance "), qPrintable(chips));
    QVERIFY2(chips.contains("runner-ups"), qPrintable(chips));
    QVERIFY2(chips.contains("tokens"), qPrintable(chips));
    QVERIFY2(chips.contains(" s"), qPrintable(chips));
    for (const moin::RouteCandidate& candidate : route.candidates) {
        if (candidate.expert != m_routedExpert)
            QVERIFY2(chips.contains(QString("%1 · ").arg(candidate.expert)), qPrintable(chips));
    }

    // Recorded: the question, then the answer with who answered and how.
    moin::ConversationStore store(*m_workspace);
    const std::vector<moin::ChatMessage> messages = store.messages(m_view->currentConversation());
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[0].role, std::string("user"));
    QCOMPARE(QString::fromStdString(messages[0].content), m_routedQuery);
    const moin::ChatMessage& reply = messages[1];
    QCOMPARE(reply.role, std::string("assistant"));
    QCOMPARE(reply.answeredBy, std::to_string(m_routedExpert));
    QCOMPARE(reply.expertChoice, std::string("auto"));
    QVERIFY(std::abs(reply.distance - double(route.distance)) < 1e-4);
    const QJsonArray candidates =
        QJsonDocument::fromJson(QByteArray::fromStdString(reply.candidatesJson)).array();
    QCOMPARE(candidates.size(), qsizetype(route.candidates.size()));
    QCOMPARE(candidates.at(0).toObject().value("expert").toInt(), m_routedExpert);
    QVERIFY(reply.completionTokens > 0);
    QVERIFY(reply.promptTokens > 0);
    QVERIFY(reply.latencySeconds > 0);
    QVERIFY(!reply.stopReason.empty());
    QCOMPARE(answer->text(), QString::fromStdString(reply.content));
    // The conversation is named after its question and listed.
    QCOMPARE(m_view->conversationList()->count(), 1);
    QVERIFY(m_routedQuery.startsWith(
        m_view->conversationList()->item(0)->text().remove(QStringLiteral("…"))));
}

void TestChatView::shiftEnterIsANewLineAndEnterSends()
{
    QVERIFY(m_view);
    m_view->input()->setFocus();
    QTest::keyClicks(m_view->input(), "first line");
    QTest::keyClick(m_view->input(), Qt::Key_Return, Qt::ShiftModifier);
    QTest::keyClicks(m_view->input(), "second line");
    QCOMPARE(m_view->input()->toPlainText(), QString("first line\nsecond line"));
    QCOMPARE(m_view->questions().size(), 1); // not sent
    QTest::keyClick(m_view->input(), Qt::Key_Return);
    QCOMPARE(m_view->questions().size(), 2);
    QCOMPARE(m_view->questions().last()->text(), QString("first line\nsecond line"));
    waitForExchange(2);
}

void TestChatView::baseOnlyAnswersFromTheBase()
{
    QVERIFY(m_view);
    QComboBox* experts = m_view->settingsPanel()->expertCombo();
    experts->setCurrentIndex(experts->findData("base"));
    ask(*m_view, m_routedQuery, m_view->sendButton());
    waitForExchange(3);
    if (QTest::currentTestFailed())
        return;
    const QList<AssistantMessage*> answers = m_view->answers();
    QCOMPARE(answers.last()->badge()->expertText(), QString("Base model"));
    // The base's badge still says where the router would have sent the question.
    QVERIFY2(chipsOf(answers.last()).contains(QString("nearest: %1").arg(m_routedExpert)),
             qPrintable(chipsOf(answers.last())));

    moin::ConversationStore store(*m_workspace);
    const moin::Conversation conversation = store.get(m_view->currentConversation());
    QCOMPARE(conversation.expertChoice, std::string("base")); // the setting was saved
    const std::vector<moin::ChatMessage> messages = store.messages(conversation.id);
    QCOMPARE(messages.size(), size_t(6));
    QCOMPARE(messages.back().answeredBy, std::string("base"));
    QCOMPARE(messages.back().expertChoice, std::string("base"));
    QVERIFY(std::isnan(messages.back().distance));
}

void TestChatView::stopLeavesACancelledAnswer()
{
    QVERIFY(m_view);
    const qint64 id = m_view->currentConversation();
    // EOS could end the answer before Stop does: the conversation goes on without it.
    {
        moin::ConversationStore store(*m_workspace);
        moin::Conversation conversation = store.get(id);
        conversation.options.stopAtEos = false;
        store.update(conversation);
    }
    m_view->showConversation(id);
    m_view->settingsPanel()->maxTokensBox()->setValue(900);

    // Stop as soon as the first text of the answer arrives.
    bool clicked = false;
    const QMetaObject::Connection stopper = connect(
        m_view->engine(), &moin::ui::ChatEngine::textArrived, this, [&] {
            if (clicked)
                return;
            clicked = true;
            QVERIFY(m_view->stopButton()->isEnabled());
            QTest::mouseClick(m_view->stopButton(), Qt::LeftButton);
        });
    ask(*m_view, QStringLiteral("tell a very long story"), m_view->sendButton());
    QVERIFY(m_view->isAnswering());
    waitForExchange(4);
    if (QTest::currentTestFailed())
        return;
    const QList<AssistantMessage*> answers = m_view->answers();
    disconnect(stopper);
    QVERIFY(clicked);
    QVERIFY2(chipsOf(answers.last()).contains("stopped"), qPrintable(chipsOf(answers.last())));
    QVERIFY(!m_view->stopButton()->isEnabled());

    moin::ConversationStore store(*m_workspace);
    QCOMPARE(store.get(id).options.maxNewTokens, 900);
    const std::vector<moin::ChatMessage> messages = store.messages(id);
    QCOMPARE(messages.size(), size_t(8));
    QCOMPARE(messages.back().stopReason, std::string("cancelled"));
    QVERIFY(messages.back().completionTokens < 900);
    QCOMPARE(answers.last()->text(), QString::fromStdString(messages.back().content));
    m_view->settingsPanel()->maxTokensBox()->setValue(48);
}

void TestChatView::compareShowsTwoAnswersSideBySide()
{
    QVERIFY(m_view);
    moin::ui::ChatSettingsPanel* settings = m_view->settingsPanel();
    settings->expertCombo()->setCurrentIndex(settings->expertCombo()->findData("auto"));
    settings->compareCombo()->setCurrentIndex(settings->compareCombo()->findData("base"));
    ask(*m_view, m_routedQuery, m_view->compareButton());
    waitForExchange(6);
    if (QTest::currentTestFailed())
        return;
    const QList<AssistantMessage*> answers = m_view->answers();
    AssistantMessage* left = answers.at(4);
    AssistantMessage* right = answers.at(5);
    QCOMPARE(left->objectName(), QString("comparisonLeft"));
    QCOMPARE(right->objectName(), QString("comparisonRight"));
    // Two columns: the right one starts where the left one ends.
    QVERIFY(right->mapTo(m_view.get(), QPoint(0, 0)).x()
            > left->mapTo(m_view.get(), QPoint(left->width(), 0)).x());
    QCOMPARE(left->badge()->expertText().section(" · ", 0, 0),
             QString("Expert %1").arg(m_routedExpert));
    QCOMPARE(right->badge()->expertText(), QString("Base model"));

    moin::ConversationStore store(*m_workspace);
    const std::vector<moin::ChatMessage> messages = store.messages(m_view->currentConversation());
    QCOMPARE(messages.size(), size_t(11));
    QCOMPARE(messages[8].role, std::string("user"));
    QCOMPARE(messages[9].answeredBy, std::to_string(m_routedExpert));
    QCOMPARE(messages[10].answeredBy, std::string("base"));
    QCOMPARE(messages[10].expertChoice, std::string("base"));

    // Shown again from the store, the comparison is side by side again.
    m_view->showConversation(m_view->currentConversation());
    QCOMPARE(m_view->answers().size(), 6);
    QCOMPARE(m_view->answers().at(4)->objectName(), QString("comparisonLeft"));
    QCOMPARE(m_view->answers().at(5)->badge()->expertText(), QString("Base model"));
    QTest::qWait(50);
    saveScreenshot(*m_view, "chat");
}

void TestChatView::badgeClickAsksForTheMap()
{
    QVERIFY(m_view);
    QSignalSpy spy(m_view.get(), &ChatView::showExpertOnMap);
    moin::ui::AnswerBadge* badge = m_view->answers().first()->badge();
    QVERIFY(badge->isClickable());
    QTest::mouseClick(badge, Qt::LeftButton, {}, QPoint(4, 4));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.first().at(0).toInt(), m_routedExpert);
    QCOMPARE(spy.first().at(1).toString(), m_routedQuery);
    const auto candidates = spy.first().at(2).value<QList<QPair<int, float>>>();
    QVERIFY(!candidates.isEmpty());
    QCOMPARE(candidates.first().first, m_routedExpert);
}

void TestChatView::exportsMarkdownAndJson()
{
    QVERIFY(m_view);
    const qint64 id = m_view->currentConversation();
    moin::ConversationStore store(*m_workspace);
    const std::vector<moin::ChatMessage> messages = store.messages(id);

    const QString markdownPath = m_tmp.filePath("chat.md");
    QString error;
    QVERIFY2(m_view->exportConversation(id, markdownPath, ChatView::ExportFormat::Markdown,
                                        &error),
             qPrintable(error));
    QFile markdown(markdownPath);
    QVERIFY(markdown.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(markdown.readAll());
    QVERIFY(text.contains(QString::fromStdString(messages[0].content)));
    QVERIFY(text.contains(QString::fromStdString(messages[1].content)));
    QVERIFY(text.contains(QString("expert %1").arg(m_routedExpert)));

    const QString jsonPath = m_tmp.filePath("chat.json");
    QVERIFY(m_view->exportConversation(id, jsonPath, ChatView::ExportFormat::Json, &error));
    QFile json(jsonPath);
    QVERIFY(json.open(QIODevice::ReadOnly));
    const QJsonObject object = QJsonDocument::fromJson(json.readAll()).object();
    QCOMPARE(object.value("messages").toArray().size(), qsizetype(messages.size()));

    // A folder that cannot be written: an error, nothing thrown.
    QVERIFY(!m_view->exportConversation(id, m_tmp.filePath("missing/dir/chat.md"),
                                        ChatView::ExportFormat::Markdown, &error));
    QVERIFY(!error.isEmpty());
}

void TestChatView::conversationsListRenameDelete()
{
    QVERIFY(m_view);
    const qint64 first = m_view->currentConversation();
    QTest::mouseClick(m_view->findChild<QPushButton*>("newConversation"), Qt::LeftButton);
    const qint64 second = m_view->currentConversation();
    QVERIFY(second != first && second != 0);
    QListWidget* list = m_view->conversationList();
    QCOMPARE(list->count(), 2);
    QCOMPARE(list->item(0)->data(Qt::UserRole).toLongLong(), second); // newest first
    QCOMPARE(list->currentItem(), list->item(0));
    QVERIFY(m_view->answers().isEmpty());
    // The new conversation starts with the settings shown before.
    moin::ConversationStore store(*m_workspace);
    QCOMPARE(store.get(second).options.maxNewTokens, 48);

    QVERIFY(m_view->renameConversation(second, "  Shepherds   and psalms "));
    QCOMPARE(QString::fromStdString(store.get(second).title), QString("Shepherds and psalms"));
    QCOMPARE(list->item(0)->text(), QString("Shepherds and psalms"));
    QVERIFY(!m_view->renameConversation(second, "   ")); // refused, unchanged
    QCOMPARE(QString::fromStdString(store.get(second).title), QString("Shepherds and psalms"));

    // Selecting the older conversation shows its transcript again.
    list->setCurrentRow(1);
    QCOMPARE(m_view->currentConversation(), first);
    QCOMPARE(m_view->answers().size(), 6);

    QVERIFY(m_view->deleteConversation(second));
    QCOMPARE(list->count(), 1);
    QCOMPARE(store.list().size(), size_t(1));
    QCOMPARE(m_view->currentConversation(), first);
}

void TestChatView::withoutClusteringTheBaseAnswers()
{
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    const QString dir = m_tmp.filePath("no-run");
    moin::Workspace workspace = moin::Workspace::create(dir.toStdString(), options);
    moin::ImportOptions import;
    import.chunkTokens = 512;
    moin::importCorpus(workspace, {m_tmp.filePath("topics.jsonl").toStdString()}, import);

    ChatView view;
    QSignalSpy ready(&view, &ChatView::engineReady);
    view.resize(1100, 720);
    view.showWorkspace(workspace);
    view.show();
    QVERIFY(ready.count() == 1 || ready.wait(60000));
    QCOMPARE(ready.first().at(0).toString(), QString());
    // The note says that the base answers and where experts come from.
    QVERIFY2(view.noticeText().contains("base model"), qPrintable(view.noticeText()));
    QVERIFY(view.noticeText().contains("Experts & training"));
    QSignalSpy experts(&view, &ChatView::expertsViewRequested);
    QTest::mouseClick(view.findChild<QPushButton*>("chatNoticeButton"), Qt::LeftButton);
    QCOMPARE(experts.count(), 1);

    view.input()->setFocus();
    QTest::keyClicks(view.input(), "who tends the flock");
    QTRY_VERIFY(view.sendButton()->isEnabled());
    QTest::mouseClick(view.sendButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isBusy(), kAnswerTimeoutMs);
    QCOMPARE(view.answers().size(), 1);
    QCOMPARE(view.answers().first()->badge()->expertText(), QString("Base model"));
    QVERIFY(!view.answers().first()->badge()->isClickable()); // no route to show
    const std::vector<moin::ChatMessage> messages =
        moin::ConversationStore(workspace).messages(view.currentConversation());
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[1].answeredBy, std::string("base"));
    view.clear();
}

void TestChatView::mainWindowShowsTheRouteOnTheMap()
{
    m_view.reset(); // one engine at a time is enough
    moin::ui::MainWindow window;
    window.resize(1280, 800);
    window.show();
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    window.openWorkspace(m_dir);
    QVERIFY(opened.wait(30000));
    window.showView(moin::ui::MainWindow::View::Chat);
    auto* chat = window.findChild<ChatView*>("chatView");
    QVERIFY(chat && chat->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(chat->engine()->isOpen(), 60000);
    QVERIFY(!chat->answers().isEmpty()); // the newest conversation is shown
    saveScreenshot(window, "chat-window");

    moin::ui::AnswerBadge* badge = chat->answers().first()->badge();
    QTest::mouseClick(badge, Qt::LeftButton, {}, QPoint(4, 4));
    QCOMPARE(window.currentView(), moin::ui::MainWindow::View::ClusterMap);
    auto* map = window.findChild<moin::ui::ClusterMapView*>("clusterMapView");
    QVERIFY(map);
    QTRY_COMPARE_WITH_TIMEOUT(map->selectedCluster(), m_routedExpert, 30000);
}

QTEST_MAIN(TestChatView)
#include "tst_chatview.moc"
