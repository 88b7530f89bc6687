// One chat turn (core/include/moin/chatturn.h): the prompt budget at its edges (exact fit, one
// token over, the quarter kept for the history, a question longer than the context, the system
// prompt kept), the title rule, the answer's leading-space fix and stop strings, the runner-ups'
// JSON; and that the Chat view, the HTTP API and `moin chat` give the model the identical prompt
// token ids for the same conversation, each through its real entry point (a ChatView on the
// offscreen platform, a real HttpApiServer over HTTP, the `moin` binary).
#include "testsupport.h"

#include "../ui/src/chatengine.h"
#include "../ui/src/chatview.h"
#include "moin/chatturn.h"
#include "moin/conversations.h"
#include "moin/httpapi.h"
#include "moin/serving.h"
#include "moin/tokenizer.h"
#include "moin/workspace.h"

#include <QApplication>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <optional>

using moin::ChatTurns;

namespace {

constexpr int kContext = 128; // the tiny base widened (testsupport::setBaseContext)

std::vector<int32_t> withBos(int bos, const std::vector<int32_t>& ids)
{
    std::vector<int32_t> out = {bos};
    out.insert(out.end(), ids.begin(), ids.end());
    return out;
}

QString idsText(const std::vector<int32_t>& ids)
{
    QStringList out;
    for (int32_t id : ids)
        out << QString::number(id);
    return out.join(' ');
}

/// Every piece an AnswerText returns for `pieces`, then its finish().
QStringList pushAll(moin::AnswerText& answer, const QStringList& pieces)
{
    QStringList out;
    for (const QString& piece : pieces)
        out << QString::fromStdString(answer.push(piece.toStdString()));
    out << QString::fromStdString(answer.finish());
    return out;
}

} // namespace

class TestChatTurn : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void budgetRule();
    void exactFitKeepsEverything();
    void oneTokenOverDropsTheOldestExchange();
    void maxTokensNearTheContextKeepsAQuarter();
    void systemPromptAndQuestionAreNeverDropped();
    void questionLongerThanTheContextIsRefused();
    void titleRule();
    void chatAnswerHasNoLeadingOrTrailingSpace();
    void stopStringsCutTheAnswer();
    void continuationKeepsTheWordSpace();
    void candidatesRoundTrip();
    void sessionRecordsTheTurn();
    void appApiAndCliGiveTheSamePrompt();

private:
    moin::Conversation storedConversation(int maxTokens);

    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
    QString m_dir;
    std::optional<moin::Tokenizer> m_tokenizer;
    std::optional<moin::Workspace> m_workspace;
    int m_bos = 1;
    // The conversation the three paths continue, and its next question.
    const std::string m_system = "Brief.";
    const std::string m_q1 = "compiler parser";
    const std::string m_a1 = "a linker";
    const std::string m_q2 = "temple psalm";
};

void TestChatTurn::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_chatturn");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QVERIFY(m_tmp.isValid());
    const testsupport::TopicWorkspace topics =
        testsupport::makeTopicWorkspace(m_tmp.path(), kContext);
    m_dir = topics.directory;
    m_tokenizer = moin::Tokenizer::load((topics.baseModel + "/tokenizer.model").toStdString());
    m_bos = m_tokenizer->bosId();
    QVERIFY(m_bos >= 0);
    // One connection for the whole suite: none is opened or closed while `moin` runs (see
    // TestApi::reader in tst_api.cpp).
    m_workspace = moin::Workspace::open(m_dir.toStdString());
}

void TestChatTurn::cleanupTestCase() { m_workspace.reset(); }

void TestChatTurn::budgetRule()
{
    // Room for the whole answer...
    QCOMPARE(moin::chatPromptBudget(64, 6), 58);
    QCOMPARE(moin::chatPromptBudget(2048, 128), 1920);
    // ...but never less than a quarter of the context for the prompt.
    QCOMPARE(moin::chatPromptBudget(64, 48), 16);
    QCOMPARE(moin::chatPromptBudget(64, 47), 17);
    QCOMPARE(moin::chatPromptBudget(64, 1000), 16);
    QCOMPARE(moin::chatPromptBudget(2048, 4096), 512);
}

void TestChatTurn::exactFitKeepsEverything()
{
    const ChatTurns turns = {{"user", m_q1}, {"assistant", m_a1}, {"user", m_q2}};
    // The template, written out here: system, blank line, "User:"/"Assistant:" lines.
    const std::string whole = "Brief.\n\nUser: compiler parser\nAssistant: a linker\n"
                              "User: temple psalm\nAssistant:";
    const std::vector<int32_t> expected = withBos(m_bos, m_tokenizer->encode(whole));
    const int n = int(expected.size());
    // budget = max(context − maxNew, context / 4) = n exactly.
    const int context = 2 * n;
    const moin::ChatPrompt prompt =
        moin::fitChatPrompt(m_system, turns, *m_tokenizer, m_bos, context, context - n);
    QCOMPARE(moin::chatPromptBudget(context, context - n), n);
    QCOMPARE(prompt.text, whole);
    QCOMPARE(prompt.tokens, expected);
    QCOMPARE(prompt.droppedMessages, 0);
}

void TestChatTurn::oneTokenOverDropsTheOldestExchange()
{
    const ChatTurns turns = {{"user", m_q1}, {"assistant", m_a1}, {"user", m_q2}};
    const std::string whole = "Brief.\n\nUser: compiler parser\nAssistant: a linker\n"
                              "User: temple psalm\nAssistant:";
    const int n = int(m_tokenizer->encode(whole).size()) + 1;
    const int context = 2 * n;
    // One position short: the whole first exchange goes (question and answer), not one message.
    const moin::ChatPrompt prompt =
        moin::fitChatPrompt(m_system, turns, *m_tokenizer, m_bos, context, context - n + 1);
    const std::string rest = "Brief.\n\nUser: temple psalm\nAssistant:";
    QCOMPARE(prompt.text, rest);
    QCOMPARE(prompt.tokens, withBos(m_bos, m_tokenizer->encode(rest)));
    QCOMPARE(prompt.droppedMessages, 2);
}

void TestChatTurn::maxTokensNearTheContextKeepsAQuarter()
{
    // Three exchanges; asking for more tokens than the context still leaves the history a
    // quarter of it, filled from the newest exchange back.
    ChatTurns turns;
    for (int i = 0; i < 3; ++i) {
        turns.push_back({"user", "q" + std::to_string(i)});
        turns.push_back({"assistant", "a" + std::to_string(i)});
    }
    turns.push_back({"user", "last"});
    const std::string lastTwo = "User: q2\nAssistant: a2\nUser: last\nAssistant:";
    const std::string lastOne = "User: last\nAssistant:";
    const int two = int(m_tokenizer->encode(lastTwo).size()) + 1;
    const int one = int(m_tokenizer->encode(lastOne).size()) + 1;
    QVERIFY(two > one);
    // A context whose quarter holds the last exchange and the question, but not one more.
    const int context = 4 * two;
    const moin::ChatPrompt prompt =
        moin::fitChatPrompt("", turns, *m_tokenizer, m_bos, context, 10 * context);
    QCOMPARE(prompt.text, lastTwo);
    QCOMPARE(prompt.droppedMessages, 4);
    QVERIFY(int(prompt.tokens.size()) <= context / 4);
}

void TestChatTurn::systemPromptAndQuestionAreNeverDropped()
{
    const ChatTurns turns = {{"user", m_q1}, {"assistant", m_a1}, {"user", m_q2}};
    const std::string minimal = "Brief.\n\nUser: temple psalm\nAssistant:";
    const int n = int(m_tokenizer->encode(minimal).size()) + 1;
    // A budget far below the system prompt and the question: both stay, over the budget, since
    // the context still has a position for the answer.
    const int context = n + 1;
    QVERIFY(moin::chatPromptBudget(context, context) < n);
    const moin::ChatPrompt prompt =
        moin::fitChatPrompt(m_system, turns, *m_tokenizer, m_bos, context, context);
    QCOMPARE(prompt.text, minimal);
    QCOMPARE(int(prompt.tokens.size()), n);
    QCOMPARE(prompt.droppedMessages, 2);
    QVERIFY(QString::fromStdString(prompt.text).startsWith("Brief.\n\n"));
}

void TestChatTurn::questionLongerThanTheContextIsRefused()
{
    const std::string minimal = "Brief.\n\nUser: temple psalm\nAssistant:";
    const int n = int(m_tokenizer->encode(minimal).size()) + 1;
    const ChatTurns turns = {{"user", m_q2}};
    // n positions in a context of n: none left for the answer.
    try {
        moin::fitChatPrompt(m_system, turns, *m_tokenizer, m_bos, n, 4);
        QFAIL("a prompt that fills the context was accepted");
    } catch (const moin::PromptTooLongError& e) {
        QCOMPARE(e.promptTokens, n);
        QCOMPARE(e.context, n);
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QString("alone have %1 tokens").arg(n)), qPrintable(message));
        QVERIFY2(message.contains(QString("context holds %1").arg(n)), qPrintable(message));
        QVERIFY2(message.contains("hint: shorten"), qPrintable(message));
    }
    // One more position: accepted.
    const moin::ChatPrompt fits =
        moin::fitChatPrompt(m_system, turns, *m_tokenizer, m_bos, n + 1, 4);
    QCOMPARE(int(fits.tokens.size()), n);
    // A question far longer than the context.
    std::string huge;
    for (int i = 0; i < 200; ++i)
        huge += "compiler ";
    QVERIFY(!testsupport::errorOf([&] {
                 moin::fitChatPrompt("", {{"user", huge}}, *m_tokenizer, m_bos, kContext, 8);
             }).isEmpty());
    // No question at all.
    QVERIFY(testsupport::errorOf([&] {
                moin::fitChatPrompt("", {{"assistant", "x"}}, *m_tokenizer, m_bos, kContext, 8);
            }).contains("no user message"));
}

void TestChatTurn::titleRule()
{
    QCOMPARE(moin::chatTitle("What is a compiler?"), std::string("What is a compiler?"));
    QCOMPARE(moin::chatTitle("  two\n\tlines  here \n"), std::string("two lines here"));
    QCOMPARE(moin::chatTitle(""), std::string());
    const std::string ellipsis = "\xE2\x80\xA6";
    // 48 characters at most, cut after the last whole word of the second half.
    const std::string words = "the compiler translates source code into machine instructions "
                              "for the processor";
    QCOMPARE(moin::chatTitle(words),
             std::string("the compiler translates source code into") + ellipsis);
    // Without a space in the second half: cut at 48 characters.
    const std::string unbroken(60, 'x');
    QCOMPARE(moin::chatTitle(unbroken), std::string(48, 'x') + ellipsis);
    // Characters, not bytes: never inside a UTF-8 character.
    std::string umlauts;
    for (int i = 0; i < 60; ++i)
        umlauts += "\xC3\xA4"; // ä
    const std::string title = moin::chatTitle(umlauts);
    QCOMPARE(title, umlauts.substr(0, 96) + ellipsis);
    QCOMPARE(QString::fromStdString(title).size(), 49);
}

void TestChatTurn::chatAnswerHasNoLeadingOrTrailingSpace()
{
    moin::AnswerText answer(moin::AnswerText::Kind::Chat);
    // The piece after "Assistant:" starts with its space; a pause on a newline; the end's
    // whitespace never shows.
    const QStringList shown =
        pushAll(answer, {" ", " Hello", " ", "world", "\n\n", "again", " \n"});
    QCOMPARE(shown, (QStringList {"", "Hello", "", " world", "", "\n\nagain", "", ""}));
    QCOMPARE(answer.text(), std::string("Hello world\n\nagain"));
    QCOMPARE(moin::chatAnswerText(" Hello world\n\nagain \n"), answer.text());
    QCOMPARE(moin::chatAnswerText(" \n "), std::string());
    QCOMPARE(moin::chatAnswerText("a  b"), std::string("a  b"));
}

void TestChatTurn::stopStringsCutTheAnswer()
{
    moin::AnswerText answer(moin::AnswerText::Kind::Chat, nullptr, {"\nUser:", ""});
    QStringList shown;
    for (const char* piece : {" Yes", " it", " is\n", "Us", "er: more"}) {
        shown << QString::fromStdString(answer.push(piece));
        if (answer.stopped())
            break;
    }
    shown << QString::fromStdString(answer.finish());
    // "\n" is held (it may start the stop string), then the stop cuts: no trailing space either.
    QCOMPARE(shown, (QStringList {"Yes", " it", " is", "", "", ""}));
    QVERIFY(answer.stopped());
    QCOMPARE(answer.text(), std::string("Yes it is"));
    // A partial stop string at the end is text after all.
    moin::AnswerText partial(moin::AnswerText::Kind::Continuation, nullptr, {"STOP"});
    QCOMPARE(pushAll(partial, {"go ST"}), (QStringList {"go ", "ST"}));
    QVERIFY(!partial.stopped());
}

void TestChatTurn::continuationKeepsTheWordSpace()
{
    // A word-initial piece ("▁of"): decoding it alone drops its space.
    int32_t word = -1;
    std::string decoded;
    for (int id = 0; id < m_tokenizer->vocabSize() && word < 0; ++id) {
        const std::string piece = m_tokenizer->idToPiece(id);
        if (piece.size() > 4 && piece.rfind("\xE2\x96\x81", 0) == 0) {
            word = id;
            decoded = m_tokenizer->decode({id});
        }
    }
    QVERIFY(word >= 0);
    QVERIFY(!decoded.empty() && decoded[0] != ' ');
    moin::AnswerText continuation(moin::AnswerText::Kind::Continuation, &*m_tokenizer);
    QCOMPARE(continuation.push(decoded, word), " " + decoded);
    // Only the first token's.
    QCOMPARE(continuation.push(decoded, word), decoded);

    // A first token inside a word (no "▁") gets no space.
    int32_t inner = -1;
    for (int id = 0; id < m_tokenizer->vocabSize() && inner < 0; ++id) {
        const std::string piece = m_tokenizer->idToPiece(id);
        if (id != m_bos && id != m_tokenizer->eosId() && id != m_tokenizer->unkId()
            && piece.size() > 1 && piece.rfind("\xE2\x96\x81", 0) != 0 && piece[0] != '<')
            inner = id;
    }
    QVERIFY(inner >= 0);
    moin::AnswerText inside(moin::AnswerText::Kind::Continuation, &*m_tokenizer);
    const std::string innerText = m_tokenizer->decode({inner});
    QCOMPARE(inside.push(innerText, inner), innerText);
    // A chat answer never gets it.
    moin::AnswerText chat(moin::AnswerText::Kind::Chat, &*m_tokenizer);
    QCOMPARE(chat.push(decoded, word), decoded);
}

void TestChatTurn::candidatesRoundTrip()
{
    const std::vector<moin::RouteCandidate> candidates = {{3, 0.25f}, {1, 0.5f}, {0, NAN}};
    const std::string json = moin::candidatesToJson(candidates);
    // Readable by any JSON reader, in the stored shape.
    const QJsonArray array = QJsonDocument::fromJson(QByteArray::fromStdString(json)).array();
    QCOMPARE(array.size(), 3);
    QCOMPARE(array.at(0).toObject().value("expert").toInt(), 3);
    QCOMPARE(array.at(1).toObject().value("distance").toDouble(), 0.5);
    QVERIFY(array.at(2).toObject().value("distance").isNull());
    const std::vector<moin::RouteCandidate> back = moin::candidatesFromJson(json);
    QCOMPARE(back.size(), size_t(3));
    QCOMPARE(back[0].expert, 3);
    QCOMPARE(back[0].distance, 0.25f);
    QCOMPARE(back[1].expert, 1);
    QVERIFY(std::isnan(back[2].distance));
    QVERIFY(moin::candidatesFromJson("not json").empty());
    QVERIFY(moin::candidatesFromJson("{\"expert\": 1}").empty());
}

// Through a real engine: the question is recorded with the prompt it got; a new conversation is
// named after it; the answer is recorded with its runner-ups; a placeholder title is replaced.
void TestChatTurn::sessionRecordsTheTurn()
{
    moin::ServingOptions serving;
    serving.device = "cpu";
    std::unique_ptr<moin::ServingEngine> engine =
        moin::ServingEngine::open(m_dir.toStdString(), serving);
    moin::Conversation fresh;
    fresh.source = "app";
    fresh.options.maxNewTokens = 3;
    fresh.options.temperature = 0;
    moin::ChatSession session(*m_workspace, fresh);
    QCOMPARE(session.conversationId(), int64_t(0));
    const moin::ChatTurn turn = session.ask("compiler parser linker", *engine);
    QVERIFY(session.conversationId() > 0);
    QCOMPARE(turn.conversationId, session.conversationId());
    QCOMPARE(session.conversation().title, std::string("compiler parser linker"));
    QCOMPARE(turn.prompt.text, std::string("User: compiler parser linker\nAssistant:"));

    moin::CompletionRequest request = turn.request(moin::ExpertChoice::parse("auto"));
    QCOMPARE(request.prompt, turn.prompt.text);
    QCOMPARE(request.routingText, std::string("compiler parser linker"));
    const moin::CompletionResult result = engine->complete(std::move(request));
    QCOMPARE(result.generation.promptTokens, int(turn.prompt.tokens.size()));
    const std::string text = moin::chatAnswerText(result.generation.text);
    session.record(turn.answer(result, text, "auto"));

    moin::ConversationStore store(*m_workspace);
    const std::vector<moin::ChatMessage> messages = store.messages(session.conversationId());
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[0].role, std::string("user"));
    QCOMPARE(messages[1].content, text);
    QCOMPARE(messages[1].expertChoice, std::string("auto"));
    QCOMPARE(messages[1].promptTokens, int(turn.prompt.tokens.size()));
    QCOMPARE(messages[1].candidatesJson, moin::candidatesToJson(result.route.candidates));
    QCOMPARE(moin::conversationTurns(messages),
             (ChatTurns {{"user", "compiler parser linker"}, {"assistant", text}}));

    // The app creates "New conversation" (in its language) before the first question.
    moin::Conversation untitled;
    untitled.title = "Neues Gespräch";
    const int64_t id = store.create(untitled);
    moin::ChatSession named(*m_workspace, id);
    named.setPlaceholderTitle("Neues Gespräch");
    named.ask("shepherd temple", *engine);
    QCOMPARE(store.get(id).title, std::string("shepherd temple"));
    // A conversation named by its person keeps its name.
    moin::Conversation kept;
    kept.title = "Mine";
    const int64_t keptId = store.create(kept);
    moin::ChatSession(*m_workspace, keptId).ask("psalm", *engine);
    QCOMPARE(store.get(keptId).title, std::string("Mine"));
}

// A conversation with one exchange, stored as the app stores it.
moin::Conversation TestChatTurn::storedConversation(int maxTokens)
{
    moin::ConversationStore store(*m_workspace);
    moin::Conversation conversation;
    conversation.title = "shared";
    conversation.systemPrompt = m_system;
    conversation.options.maxNewTokens = maxTokens;
    conversation.options.temperature = 0;
    conversation.expertChoice = "base";
    conversation.id = store.create(conversation);
    moin::ChatMessage message;
    message.conversationId = conversation.id;
    message.role = "user";
    message.content = m_q1;
    store.addMessage(message);
    message.role = "assistant";
    message.content = m_a1;
    message.answeredBy = "base";
    store.addMessage(message);
    return store.get(conversation.id);
}

void TestChatTurn::appApiAndCliGiveTheSamePrompt()
{
    // max tokens chosen so that the whole conversation is one position over the budget: the
    // first exchange must go, in every path.
    const std::string whole = "Brief.\n\nUser: compiler parser\nAssistant: a linker\n"
                              "User: temple psalm\nAssistant:";
    const std::string rest = "Brief.\n\nUser: temple psalm\nAssistant:";
    const int n = int(m_tokenizer->encode(whole).size()) + 1;
    const int maxTokens = kContext - n + 1;
    QVERIFY2(maxTokens >= 1 && maxTokens < kContext - kContext / 4,
             qPrintable(QString("the conversation has %1 tokens").arg(n)));
    const std::vector<int32_t> expected = withBos(m_bos, m_tokenizer->encode(rest));

    // The HTTP API, through a real server: the conversation as messages.
    std::vector<int32_t> api;
    {
        moin::ServingOptions serving;
        serving.device = "cpu";
        std::unique_ptr<moin::ServingEngine> engine =
            moin::ServingEngine::open(m_dir.toStdString(), serving);
        moin::HttpApiOptions options;
        options.port = 0;
        options.threads = 2; // not recording: this process keeps its one connection
        moin::HttpApiServer server(*engine, options);
        server.start();
        QVERIFY(server.port() > 0);
        QJsonArray messages;
        messages.append(
            QJsonObject {{"role", "system"}, {"content", QString::fromStdString(m_system)}});
        messages.append(QJsonObject {{"role", "user"}, {"content", QString::fromStdString(m_q1)}});
        messages.append(
            QJsonObject {{"role", "assistant"}, {"content", QString::fromStdString(m_a1)}});
        messages.append(QJsonObject {{"role", "user"}, {"content", QString::fromStdString(m_q2)}});
        const QJsonObject body {{"messages", messages}, {"max_tokens", maxTokens},
                                {"temperature", 0}, {"model", "base"},
                                {"return_token_ids", true}};
        QNetworkAccessManager nam;
        QNetworkRequest request(
            QUrl(QString("http://127.0.0.1:%1/v1/chat/completions").arg(server.port())));
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
        QNetworkReply* reply =
            nam.post(request, QJsonDocument(body).toJson(QJsonDocument::Compact));
        QEventLoop loop;
        connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray answer = reply->readAll();
        reply->deleteLater();
        QVERIFY2(status == 200, answer.constData());
        const QJsonObject json = QJsonDocument::fromJson(answer).object();
        for (const QJsonValue& id : json["prompt_token_ids"].toArray())
            api.push_back(id.toInt());
        QCOMPARE(json["usage"].toObject()["prompt_tokens"].toInt(), int(api.size()));
        // The answer's own ids come back too, as many as it has tokens.
        QCOMPARE(json["choices"].toArray().at(0).toObject()["token_ids"].toArray().size(),
                 json["usage"].toObject()["completion_tokens"].toInt());
        server.stop();
    }
    QCOMPARE(idsText(api), idsText(expected));

    // `moin chat`, the real binary, continuing the stored conversation.
    const moin::Conversation forCli = storedConversation(maxTokens);
    QProcess chat;
    chat.start(MOIN_CLI_PATH, {"chat", m_dir, "--conversation", QString::number(forCli.id),
                               "--verbose-prompt", "--threads", "1"});
    chat.write(QByteArray::fromStdString(m_q2) + "\n/quit\n");
    chat.closeWriteChannel();
    QVERIFY(chat.waitForFinished(180000));
    const QString err = QString::fromUtf8(chat.readAllStandardError());
    QVERIFY2(chat.exitStatus() == QProcess::NormalExit && chat.exitCode() == 0, qPrintable(err));
    const QRegularExpressionMatch match =
        QRegularExpression("moin chat: prompt of (\\d+) tokens \\(2 earlier messages left out\\):"
                           "((?: \\d+)+)\n")
            .match(err);
    QVERIFY2(match.hasMatch(), qPrintable(err));
    std::vector<int32_t> cli;
    for (const QString& id : match.captured(2).split(' ', Qt::SkipEmptyParts))
        cli.push_back(id.toInt());
    QCOMPARE(match.captured(1).toInt(), int(cli.size()));
    QCOMPARE(idsText(cli), idsText(expected));
    {
        moin::ConversationStore store(*m_workspace);
        const std::vector<moin::ChatMessage> messages = store.messages(forCli.id);
        QCOMPARE(messages.size(), size_t(4)); // the question and its answer were added
        QCOMPARE(messages[2].content, m_q2);
        QCOMPARE(messages[3].promptTokens, int(expected.size()));
    }

    // The Chat view: the same stored conversation shown, the question typed and sent.
    const moin::Conversation forApp = storedConversation(maxTokens);
    moin::ui::ChatView view;
    QSignalSpy ready(&view, &moin::ui::ChatView::engineReady);
    view.resize(1000, 700);
    view.showWorkspace(*m_workspace);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(ready.count() == 1 || ready.wait(60000));
    QCOMPARE(ready.first().at(0).toString(), QString());
    view.showConversation(forApp.id);
    QCOMPARE(view.currentConversation(), forApp.id);
    view.input()->setFocus();
    QTest::keyClicks(view.input(), QString::fromStdString(m_q2));
    QTRY_VERIFY(view.sendButton()->isEnabled());
    QTest::mouseClick(view.sendButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isBusy(), 120000);
    QCOMPARE(idsText(view.lastPrompt().tokens), idsText(expected));
    QCOMPARE(view.lastPrompt().droppedMessages, 2);
    moin::ConversationStore store(*m_workspace);
    const std::vector<moin::ChatMessage> messages = store.messages(forApp.id);
    QCOMPARE(messages.size(), size_t(4));
    QCOMPARE(messages[3].promptTokens, int(expected.size()));
}

QTEST_MAIN(TestChatTurn)
#include "tst_chatturn.moc"
