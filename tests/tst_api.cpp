// The local HTTP API (OpenAI's wire format over the serving engine) and the serving commands of
// the CLI: models, chat and text completions streamed or not, routing and forced experts,
// every error status, 64 concurrent clients with every request recorded, `moin generate DIR`,
// `moin chat` and `moin serve`.
#include "testsupport.h"

#include "moin/chatturn.h"
#include "moin/clustering.h"
#include "moin/conversations.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/error.h"
#include "moin/httpapi.h"
#include "moin/serving.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <map>
#include <random>
#include <set>

namespace {

using testsupport::topicText;

struct Http {
    int status = 0;
    QByteArray body;
    QByteArray contentType;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
};

using Headers = QList<QPair<QByteArray, QByteArray>>;

// The status, with the body in the failure message.
#define VERIFY_STATUS(reply, expected)                                                             \
    QVERIFY2((reply).status == (expected),                                                         \
        qPrintable(QString("HTTP %1, expected %2: %3")                                             \
                       .arg((reply).status)                                                        \
                       .arg(expected)                                                              \
                       .arg(QString::fromUtf8((reply).body))))

Http request(QNetworkAccessManager& nam, int port, const QByteArray& method, const QString& path,
    const QByteArray& body = {}, const Headers& headers = {})
{
    QNetworkRequest req(QUrl(QString("http://127.0.0.1:%1%2").arg(port).arg(path)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    for (const auto& [name, value] : headers)
        req.setRawHeader(name, value);
    QNetworkReply* reply = nam.sendCustomRequest(req, method, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(60000, &loop, &QEventLoop::quit);
    loop.exec();
    Http out;
    out.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    out.body = reply->readAll();
    out.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
    reply->deleteLater();
    return out;
}

QByteArray toJson(const QJsonObject& object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// The tiny test model's context is 64 tokens and its tokenizer splits these words into many
// pieces (a topic word is about 6 tokens, the chat template about 18): prompts stay short.
QJsonObject chatBody(
    const QString& user, int maxTokens, const QString& model = {}, const QString& system = "Brief.")
{
    QJsonArray messages;
    if (!system.isEmpty())
        messages.append(QJsonObject {{"role", "system"}, {"content", system}});
    messages.append(QJsonObject {{"role", "user"}, {"content", user}});
    QJsonObject body {{"messages", messages}, {"max_tokens", maxTokens}, {"temperature", 0}};
    if (!model.isEmpty())
        body["model"] = model;
    return body;
}

/// The JSON events of a server-sent event stream; `done` tells whether it ended in [DONE].
QList<QJsonObject> parseEvents(const QByteArray& stream, bool* done)
{
    QList<QJsonObject> events;
    *done = false;
    for (const QByteArray& block : stream.split('\n')) {
        if (block.isEmpty() || block.startsWith(':'))
            continue;
        if (!block.startsWith("data: ")) {
            events << QJsonObject {{"unparsed", QString::fromUtf8(block)}};
            continue;
        }
        const QByteArray data = block.mid(6);
        if (data == "[DONE]") {
            *done = true;
            continue;
        }
        if (*done)
            events << QJsonObject {{"after_done", QString::fromUtf8(data)}};
        events << QJsonDocument::fromJson(data).object();
    }
    return events;
}

QString choiceText(const QJsonObject& response)
{
    const QJsonObject choice = response["choices"].toArray().at(0).toObject();
    if (choice.contains("message"))
        return choice["message"].toObject()["content"].toString();
    return choice["text"].toString();
}

/// A raw HTTP/1.1 client on one socket (Connection: close): many run at once in one event loop.
class RawClient : public QObject {
public:
    /// `leaveEarly`: abort the connection as soon as the first event of a stream arrives.
    RawClient(int port, const QByteArray& path, const QByteArray& body, QObject* parent,
        bool leaveEarly = false)
        : QObject(parent)
    {
        m_request = "POST " + path
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Content-Type: application/json\r\nConnection: close\r\nContent-Length: "
            + QByteArray::number(body.size()) + "\r\n\r\n" + body;
        connect(&m_socket, &QTcpSocket::connected, this, [this] { m_socket.write(m_request); });
        connect(&m_socket, &QTcpSocket::readyRead, this, [this, leaveEarly] {
            m_response += m_socket.readAll();
            if (leaveEarly && m_response.contains("data: ")) {
                m_socket.abort();
                m_finished = true;
            }
        });
        connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
            if (m_socket.isOpen())
                m_response += m_socket.readAll();
            m_finished = true;
        });
        connect(&m_socket, &QTcpSocket::errorOccurred, this, [this] {
            if (m_socket.error() != QAbstractSocket::RemoteHostClosedError)
                m_error = m_socket.errorString();
            m_finished = true;
        });
        m_socket.connectToHost("127.0.0.1", quint16(port));
    }
    bool finished() const { return m_finished; }
    QString error() const { return m_error; }
    int status() const
    {
        const QList<QByteArray> words = m_response.left(m_response.indexOf("\r\n")).split(' ');
        return words.size() > 1 ? words[1].toInt() : 0;
    }
    /// The body, de-chunked if the answer was chunked.
    QByteArray body() const
    {
        const int split = m_response.indexOf("\r\n\r\n");
        if (split < 0)
            return {};
        const QByteArray head = m_response.left(split).toLower();
        QByteArray rest = m_response.mid(split + 4);
        if (!head.contains("transfer-encoding: chunked"))
            return rest;
        QByteArray out;
        while (true) {
            const int line = rest.indexOf("\r\n");
            if (line < 0)
                break;
            bool ok = false;
            const int size = rest.left(line).toInt(&ok, 16);
            if (!ok || size == 0)
                break;
            out += rest.mid(line + 2, size);
            rest = rest.mid(line + 2 + size + 2);
        }
        return out;
    }
    QTcpSocket& socket() { return m_socket; }

private:
    QTcpSocket m_socket;
    QByteArray m_request;
    QByteArray m_response;
    QString m_error;
    bool m_finished = false;
};

struct Run {
    int exitCode = -1;
    QString out;
    QString err;
};

Run runMoin(const QStringList& arguments, const QByteArray& input = {})
{
    QProcess process;
    process.start(MOIN_CLI_PATH, arguments);
    if (!input.isNull()) {
        process.write(input);
        process.closeWriteChannel();
    }
    if (!process.waitForFinished(180000))
        return {};
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2,
        QString::fromUtf8(process.readAllStandardOutput()),
        QString::fromUtf8(process.readAllStandardError())};
}

} // namespace

class TestApi : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void modelsListBaseAndExperts();
    void chatCompletionMatchesEngine();
    void textCompletion();
    void streamingEqualsNonStreaming_data();
    void streamingEqualsNonStreaming();
    void forcedExpertsAndBase();
    void routingMatchesRouterAndCli();
    void stopSequencesCutTheText();
    void errors_data();
    void errors();
    void apiKeyAndBodyLimit();
    void fullQueueAnswers503();
    void clientDisconnectCancelsTheStream();
    void sixtyFourConcurrentClientsAllRecorded();
    void stopServer();
    void cliGenerateWithWorkspace();
    void cliChat();
    void cliServe();

private:
    bool serve();
    void stopSharedServer();
    int apiConversations();
    moin::Workspace reader();

    QTemporaryDir m_tmp;
    QString m_base;
    QString m_dir;
    std::optional<moin::Workspace> m_workspace;
    int64_t m_run = 0;
    std::unique_ptr<moin::ServingEngine> m_engine;
    std::unique_ptr<moin::HttpApiServer> m_server;
    int m_port = 0;
    QNetworkAccessManager m_nam;
};

void TestApi::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    const testsupport::TopicWorkspace topics = testsupport::makeTopicWorkspace(m_tmp.path());
    m_base = topics.baseModel;
    m_dir = topics.directory;
    m_workspace = moin::Workspace::open(m_dir.toStdString());
    m_run = topics.runId;
    QVERIFY(m_run > 0);

    // Experts 0 and 1 are trained; cluster 2 has none (its queries fall back to the base).
    testsupport::trainTinyExperts(m_dir, m_run, {0, 1});
    QCOMPARE(moin::TrainingQueue(*m_workspace).experts(m_run).size(), size_t(2));
    // From here on this process keeps at most one connection (the server's) while `moin`
    // child processes run; see reader().
    m_workspace.reset();

    moin::ServingOptions serving;
    serving.device = "cpu";
    serving.maxBatch = 16;
    m_engine = moin::ServingEngine::open(m_dir.toStdString(), serving);
    QVERIFY(serve());
    QCOMPARE(QString::fromStdString(m_server->url()), QString("http://127.0.0.1:%1").arg(m_port));
}

void TestApi::cleanupTestCase()
{
    if (m_server)
        m_server->stop();
    m_server.reset();
    m_engine.reset();
}

// The shared server on the shared engine, recording into the workspace; started again if a slot
// before stopped it, so that every slot that needs it can run alone or in any order.
bool TestApi::serve()
{
    if (m_server && m_server->isRunning())
        return true;
    moin::HttpApiOptions api;
    api.port = 0;
    api.threads = 72;
    api.workspaceDirectory = m_dir.toStdString();
    m_server = std::make_unique<moin::HttpApiServer>(*m_engine, api);
    m_server->start();
    m_port = m_server->port();
    return m_port > 0 && m_server->isRunning();
}

// The slots that run `moin` on the workspace stop the shared server first (see reader()).
void TestApi::stopSharedServer()
{
    if (m_server)
        m_server->stop();
}

// A connection for reading what the server and the CLI recorded. Workspace::open reads the
// database header through a descriptor of its own; closing it drops every POSIX lock this process
// holds on the file (SQLite's "How To Corrupt" 2.2), after which a `moin` child process that
// closes the workspace believes itself its last user and deletes the WAL under this process's
// connections (seen here as stale reads, then "disk I/O error"). So readers are opened only
// while no child process runs and no child runs while the server records (see stopServer()).
moin::Workspace TestApi::reader()
{
    return moin::Workspace::open(m_dir.toStdString());
}

int TestApi::apiConversations()
{
    moin::Workspace workspace = reader();
    moin::ConversationStore store(workspace);
    int count = 0;
    for (const moin::Conversation& c : store.list())
        count += c.source == "api";
    return count;
}

void TestApi::modelsListBaseAndExperts()
{
    QVERIFY(serve());
    const Http reply = request(m_nam, m_port, "GET", "/v1/models");
    VERIFY_STATUS(reply, 200);
    const QJsonObject body = reply.json();
    QCOMPARE(body["object"].toString(), QString("list"));
    QMap<QString, QJsonObject> byId;
    for (const QJsonValue& model : body["data"].toArray()) {
        QCOMPARE(model["object"].toString(), QString("model"));
        byId[model["id"].toString()] = model.toObject();
    }
    QCOMPARE(byId.keys(), (QStringList {"auto", "base", "expert-0", "expert-1", "moin-router"}));
    for (const moin::ServedExpert& expert : m_engine->experts()) {
        const QJsonObject model = byId.value(QString("expert-%1").arg(expert.id));
        QVERIFY(!expert.keywords.empty());
        QStringList keywords;
        for (const QJsonValue& k : model["keywords"].toArray())
            keywords << k.toString();
        QCOMPARE(keywords.size(), int(expert.keywords.size()));
        QCOMPARE(keywords.first(), QString::fromStdString(expert.keywords.front()));
        QCOMPARE(model["expert"].toInt(), expert.id);
    }
    // One model by id, and an unknown one.
    QCOMPARE(request(m_nam, m_port, "GET", "/v1/models/expert-1").json()["id"].toString(),
        QString("expert-1"));
    QCOMPARE(request(m_nam, m_port, "GET", "/v1/models/expert-7").status, 404);
}

void TestApi::chatCompletionMatchesEngine()
{
    QVERIFY(serve());
    const QString user = topicText(0, 100, 2);
    const Http reply
        = request(m_nam, m_port, "POST", "/v1/chat/completions", toJson(chatBody(user, 6)));
    VERIFY_STATUS(reply, 200);
    QVERIFY(reply.contentType.startsWith("application/json"));
    const QJsonObject body = reply.json();
    QCOMPARE(body["object"].toString(), QString("chat.completion"));
    QVERIFY(body["id"].toString().startsWith("chatcmpl-"));
    QCOMPARE(body["model"].toString(), QString("auto"));
    const QJsonObject choice = body["choices"].toArray().at(0).toObject();
    QCOMPARE(choice["message"].toObject()["role"].toString(), QString("assistant"));
    QVERIFY(QStringList({"stop", "length"}).contains(choice["finish_reason"].toString()));
    const QJsonObject usage = body["usage"].toObject();
    QVERIFY(usage["prompt_tokens"].toInt() > 5);
    QVERIFY(usage["completion_tokens"].toInt() >= 1);
    QVERIFY(usage["completion_tokens"].toInt() <= 6);
    QCOMPARE(usage["total_tokens"].toInt(),
        usage["prompt_tokens"].toInt() + usage["completion_tokens"].toInt());

    // The same request through the engine directly: same prompt template, same answer (the
    // budget, 64 − 6 positions with BOS, holds it whole).
    moin::CompletionRequest direct;
    direct.prompt = "Brief.\n\nUser: " + user.toStdString() + "\nAssistant:";
    direct.routingText = user.toStdString();
    direct.options.maxNewTokens = 6;
    direct.options.temperature = 0;
    const moin::CompletionResult expected = m_engine->complete(direct);
    // A chat answer starts and ends with no whitespace (the space after "Assistant:").
    QString expectedText = QString::fromStdString(expected.generation.text);
    expectedText.remove(QRegularExpression("^[ \\t\\n\\r\\v\\f]+|[ \\t\\n\\r\\v\\f]+$"));
    QCOMPARE(choice["message"].toObject()["content"].toString(), expectedText);
    QCOMPARE(usage["prompt_tokens"].toInt(), expected.generation.promptTokens);

    const QJsonObject moin = body["moin"].toObject();
    QCOMPARE(moin["expert"].toInt(), expected.route.expert);
    QCOMPARE(moin["answered_by"].toString(), QString::fromStdString(expected.answeredBy));
    QCOMPARE(moin["candidates"].toArray().size(), int(expected.route.candidates.size()));
    QVERIFY(std::abs(moin["distance"].toDouble() - expected.route.distance) < 1e-5);
    QCOMPARE(moin["requested"].toString(), QString("auto"));
}

void TestApi::textCompletion()
{
    QVERIFY(serve());
    const QJsonObject request_ {
        {"model", "base"}, {"prompt", "In the beginning"}, {"max_tokens", 5}, {"temperature", 0}};
    const Http reply = request(m_nam, m_port, "POST", "/v1/completions", toJson(request_));
    VERIFY_STATUS(reply, 200);
    const QJsonObject body = reply.json();
    QCOMPARE(body["object"].toString(), QString("text_completion"));
    QVERIFY(body["id"].toString().startsWith("cmpl-"));
    QCOMPARE(body["moin"].toObject()["answered_by"].toString(), QString("base"));
    QVERIFY(body["moin"].toObject()["answer_distance"].isNull());

    moin::CompletionRequest direct;
    direct.prompt = "In the beginning";
    direct.expert = moin::ExpertChoice::parse("base");
    direct.options.maxNewTokens = 5;
    direct.options.temperature = 0;
    const moin::CompletionResult expected = m_engine->complete(direct);
    // The continuation as text: what the generated tokens add to the prompt's text (with the
    // space before a first word, which decoding the new tokens alone drops).
    const moin::Tokenizer& tokenizer = m_engine->tokenizer();
    std::vector<int32_t> all = tokenizer.encode("In the beginning");
    all.insert(all.end(), expected.generation.tokens.begin(), expected.generation.tokens.end());
    const QString full = QString::fromStdString(tokenizer.decode(all));
    QVERIFY2(full.startsWith("In the beginning"), qPrintable(full));
    const QString continuation = full.mid(int(strlen("In the beginning")));
    QCOMPARE(choiceText(body), continuation);
    QCOMPARE(body["usage"].toObject()["completion_tokens"].toInt(),
        int(expected.generation.tokens.size()));

    // echo puts the prompt in front: the prompt's text and the continuation read as one.
    QJsonObject echo = request_;
    echo["echo"] = true;
    const Http echoed = request(m_nam, m_port, "POST", "/v1/completions", toJson(echo));
    QCOMPARE(choiceText(echoed.json()), full);
}

void TestApi::streamingEqualsNonStreaming_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("model");
    QTest::newRow("chat, routed") << "/v1/chat/completions"
                                  << "auto";
    QTest::newRow("chat, expert 1") << "/v1/chat/completions"
                                    << "expert-1";
    QTest::newRow("completion, routed") << "/v1/completions"
                                        << "";
    QTest::newRow("completion, base") << "/v1/completions"
                                      << "base";
}

void TestApi::streamingEqualsNonStreaming()
{
    QVERIFY(serve());
    QFETCH(QString, path);
    QFETCH(QString, model);
    const bool chat = path.contains("chat");
    QJsonObject body = chat
        ? chatBody(topicText(1, 101, 3), 8, model, {})
        : QJsonObject {{"prompt", topicText(2, 101, 4)}, {"max_tokens", 8}, {"temperature", 0}};
    if (!model.isEmpty())
        body["model"] = model;
    const Http plain = request(m_nam, m_port, "POST", path, toJson(body));
    VERIFY_STATUS(plain, 200);
    body["stream"] = true;
    const Http streamed = request(m_nam, m_port, "POST", path, toJson(body));
    VERIFY_STATUS(streamed, 200);
    QVERIFY2(streamed.contentType.startsWith("text/event-stream"), streamed.contentType);

    bool done = false;
    const QList<QJsonObject> events = parseEvents(streamed.body, &done);
    QVERIFY2(done, streamed.body);
    QVERIFY2(events.size() >= 2, streamed.body);
    QVERIFY2(streamed.body.endsWith("data: [DONE]\n\n"), streamed.body.right(40));
    QString text;
    const QString id = events.first()["id"].toString();
    for (int i = 0; i < events.size(); ++i) {
        const QJsonObject& event = events[i];
        QVERIFY2(!event.contains("unparsed") && !event.contains("after_done"),
            qPrintable(QJsonDocument(event).toJson()));
        QCOMPARE(event["object"].toString(),
            QString(chat ? "chat.completion.chunk" : "text_completion"));
        QCOMPARE(event["id"].toString(), id);
        const QJsonObject choice = event["choices"].toArray().at(0).toObject();
        const bool last = i == events.size() - 1;
        QCOMPARE(choice["finish_reason"].isNull(), !last);
        if (chat) {
            const QJsonObject delta = choice["delta"].toObject();
            QCOMPARE(delta.contains("role"), i == 0);
            text += delta["content"].toString();
        } else {
            text += choice["text"].toString();
        }
        // The routing decision comes first and last.
        QCOMPARE(event.contains("moin"), i == 0 || last);
    }
    QCOMPARE(text, choiceText(plain.json()));
    const QJsonObject first = events.first()["moin"].toObject();
    const QJsonObject last = events.last()["moin"].toObject();
    const QJsonObject reference = plain.json()["moin"].toObject();
    for (const char* key : {"expert", "answered_by", "candidates", "keywords", "requested"}) {
        QCOMPARE(first[key], reference[key]);
        QCOMPARE(last[key], reference[key]);
    }
    QCOMPARE(events.last()["choices"].toArray().at(0).toObject()["finish_reason"].toString(),
        plain.json()["choices"].toArray().at(0).toObject()["finish_reason"].toString());
    QCOMPARE(events.last()["usage"].toObject(), plain.json()["usage"].toObject());
}

void TestApi::forcedExpertsAndBase()
{
    QVERIFY(serve());
    const QString user = topicText(2, 102, 3);
    for (const QString& model : {QString("expert-1"), QString("1")}) {
        const QJsonObject body = request(
            m_nam, m_port, "POST", "/v1/chat/completions", toJson(chatBody(user, 3, model)))
                                     .json();
        const QJsonObject moin = body["moin"].toObject();
        QCOMPARE(moin["answered_by"].toString(), QString("1"));
        QCOMPARE(moin["requested"].toString(), QString("1"));
        QCOMPARE(body["model"].toString(), model);
        QStringList keywords;
        for (const QJsonValue& k : moin["keywords"].toArray())
            keywords << k.toString();
        QCOMPARE(keywords.size(), int(m_engine->experts().at(1).keywords.size()));
        QCOMPARE(m_engine->experts().at(1).id, 1);
    }
    const QJsonObject base
        = request(m_nam, m_port, "POST", "/v1/chat/completions", toJson(chatBody(user, 3, "base")))
              .json();
    QCOMPARE(base["moin"].toObject()["answered_by"].toString(), QString("base"));
    QVERIFY(base["moin"].toObject()["keywords"].toArray().isEmpty());
    // The router's decision is still reported for comparison.
    QCOMPARE(base["moin"].toObject()["expert"].toInt(), m_engine->route(user.toStdString()).expert);
}

void TestApi::routingMatchesRouterAndCli()
{
    QVERIFY(serve());
    QSet<QString> answeredBy;
    for (int topic = 0; topic < 3; ++topic) {
        const QString user = topicText(topic, 103, 4);
        const QJsonObject moin = request(
            m_nam, m_port, "POST", "/v1/chat/completions", toJson(chatBody(user, 2, {}, {})))
                                     .json()["moin"]
                                     .toObject();
        const moin::RouteDecision decision = m_engine->route(user.toStdString());
        QCOMPARE(moin["expert"].toInt(), decision.expert);
        const QJsonArray candidates = moin["candidates"].toArray();
        QCOMPARE(candidates.size(), int(decision.candidates.size()));
        for (int i = 0; i < candidates.size(); ++i)
            QCOMPARE(candidates[i].toObject()["expert"].toInt(), decision.candidates[i].expert);
        // Expert 2 is untrained: its queries are answered by the base.
        const QString expected
            = decision.expert == 2 ? QString("base") : QString::number(decision.expert);
        QCOMPARE(moin["answered_by"].toString(), expected);
        answeredBy << expected;
        if (topic == 0) {
            const Run run = runMoin({"route", m_dir, user, "--json"});
            QCOMPARE(run.exitCode, 0);
            QCOMPARE(QJsonDocument::fromJson(run.out.toUtf8()).object()["expert"].toInt(),
                decision.expert);
        }
    }
    // Three clear topics into three clusters: three different answerers.
    QCOMPARE(answeredBy.size(), 3);
}

void TestApi::stopSequencesCutTheText()
{
    QVERIFY(serve());
    // A greedy answer, then the same request with a stop sequence taken from inside it.
    QJsonObject body {{"model", "base"}, {"prompt", "Elizabeth walked to"}, {"max_tokens", 12},
        {"temperature", 0}};
    const QString full
        = choiceText(request(m_nam, m_port, "POST", "/v1/completions", toJson(body)).json());
    QVERIFY2(full.size() >= 4, qPrintable(full));
    const QString stop = full.mid(full.size() / 2, 2);
    const QString expected = full.left(full.indexOf(stop));
    body["stop"] = QJsonArray {stop, "never-occurs-here"};
    const QJsonObject cut = request(m_nam, m_port, "POST", "/v1/completions", toJson(body)).json();
    QCOMPARE(choiceText(cut), expected);
    QCOMPARE(
        cut["choices"].toArray().at(0).toObject()["finish_reason"].toString(), QString("stop"));
    body["stream"] = true;
    bool done = false;
    QString streamed;
    for (const QJsonObject& event :
        parseEvents(request(m_nam, m_port, "POST", "/v1/completions", toJson(body)).body, &done))
        streamed += event["choices"].toArray().at(0).toObject()["text"].toString();
    QVERIFY(done);
    QCOMPARE(streamed, expected);
}

void TestApi::errors_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    const QByteArray chat = "/v1/chat/completions";
    const QByteArray ok = toJson(chatBody("compiler parser", 2));
    auto with = [](QJsonObject body, const char* key, const QJsonValue& value) {
        body[key] = value;
        return toJson(body);
    };
    const QJsonObject base = chatBody("compiler parser", 2);
    QTest::newRow("malformed JSON") << QByteArray("POST") << QString(chat)
                                    << QByteArray("{\"messages\": [") << 400 << "invalid_json";
    QTest::newRow("not an object")
        << QByteArray("POST") << QString(chat) << QByteArray("[1]") << 400 << "invalid_json";
    QTest::newRow("n = 2") << QByteArray("POST") << QString(chat) << with(base, "n", 2) << 400
                           << "unsupported_value";
    QTest::newRow("no messages") << QByteArray("POST") << QString(chat)
                                 << QByteArray("{\"max_tokens\": 2}") << 400
                                 << "missing_required_parameter";
    QTest::newRow("no prompt") << QByteArray("POST") << QString("/v1/completions")
                               << QByteArray("{}") << 400 << "missing_required_parameter";
    QTest::newRow("bad temperature") << QByteArray("POST") << QString(chat)
                                     << with(base, "temperature", "hot") << 400 << "invalid_type";
    QTest::newRow("negative temperature")
        << QByteArray("POST") << QString(chat) << with(base, "temperature", -1) << 400
        << "invalid_value";
    QTest::newRow("prompt too long") << QByteArray("POST") << QString("/v1/completions")
                                     << toJson(QJsonObject {{"prompt", topicText(0, 1, 200)}})
                                     << 400 << "context_length_exceeded";
    QTest::newRow("question too long") << QByteArray("POST") << QString(chat)
                                       << toJson(chatBody(topicText(0, 1, 200), 2))
                                       << 400 << "context_length_exceeded";
    QTest::newRow("untrained expert")
        << QByteArray("POST") << QString(chat) << with(base, "model", "expert-2") << 404
        << "model_not_found";
    QTest::newRow("unknown expert") << QByteArray("POST") << QString(chat)
                                    << with(base, "model", "expert-99") << 404 << "model_not_found";
    QTest::newRow("unknown model") << QByteArray("POST") << QString(chat)
                                   << with(base, "model", "gpt-4o") << 404 << "model_not_found";
    QTest::newRow("GET a completion")
        << QByteArray("GET") << QString(chat) << QByteArray() << 405 << "method_not_allowed";
    QTest::newRow("POST the models")
        << QByteArray("POST") << QString("/v1/models") << ok << 405 << "method_not_allowed";
    QTest::newRow("DELETE a completion") << QByteArray("DELETE") << QString("/v1/completions")
                                         << QByteArray() << 405 << "method_not_allowed";
    QTest::newRow("unknown path") << QByteArray("GET") << QString("/v2/nothing") << QByteArray()
                                  << 404 << "not_found";
}

void TestApi::errors()
{
    QVERIFY(serve());
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    const Http reply = request(m_nam, m_port, method, path, body);
    QCOMPARE(reply.status, status);
    QVERIFY(reply.contentType.startsWith("application/json"));
    const QJsonObject error = reply.json()["error"].toObject();
    QVERIFY2(!error["message"].toString().isEmpty(), reply.body);
    QCOMPARE(error["type"].toString(), QString("invalid_request_error"));
    QCOMPARE(error["code"].toString(), code);
}

void TestApi::apiKeyAndBodyLimit()
{
    QVERIFY(serve()); // a second server beside it, on a port of its own
    moin::HttpApiOptions options;
    options.port = 0;
    options.apiKey = "sekrit-key";
    options.maxBodyBytes = 4096;
    options.threads = 4;
    moin::HttpApiServer guarded(*m_engine, options);
    guarded.start();
    const int port = guarded.port();
    QVERIFY(port > 0 && port != m_port);

    Http reply = request(m_nam, port, "GET", "/v1/models");
    VERIFY_STATUS(reply, 401);
    QCOMPARE(reply.json()["error"].toObject()["code"].toString(), QString("invalid_api_key"));
    reply = request(m_nam, port, "GET", "/v1/models", {}, {{"Authorization", "Bearer wrong"}});
    VERIFY_STATUS(reply, 401);
    reply = request(m_nam, port, "POST", "/v1/chat/completions",
        toJson(chatBody("compiler parser", 2)), {{"Authorization", "Bearer sekrit-key-and-more"}});
    VERIFY_STATUS(reply, 401);
    const Headers key {{"Authorization", "Bearer sekrit-key"}};
    QCOMPARE(request(m_nam, port, "GET", "/v1/models", {}, key).status, 200);
    QCOMPARE(request(m_nam, port, "POST", "/v1/chat/completions",
                 toJson(chatBody("compiler parser", 2)), key)
                 .status,
        200);

    // A body over the limit: 413 with OpenAI's error shape.
    QJsonObject big = chatBody(QString(5000, 'x'), 2);
    reply = request(m_nam, port, "POST", "/v1/chat/completions", toJson(big), key);
    VERIFY_STATUS(reply, 413);
    QCOMPARE(reply.json()["error"].toObject()["code"].toString(), QString("request_too_large"));
    // Without the key, the key is refused first.
    QCOMPARE(request(m_nam, port, "POST", "/v1/chat/completions", toJson(big)).status, 401);
    QVERIFY2(guarded.stats().errors >= 5, qPrintable(QString::number(guarded.stats().errors)));
    guarded.stop();
    QVERIFY(!guarded.isRunning());
}

void TestApi::fullQueueAnswers503()
{
    // One request decodes and one waits at most: of twelve sent at once, the first is answered
    // and some are refused (how many depends on when the engine admits the first).
    moin::ServingOptions serving;
    serving.device = "cpu";
    serving.maxBatch = 1;
    serving.maxQueue = 1;
    const auto engine = moin::ServingEngine::open(m_dir.toStdString(), serving);
    moin::HttpApiOptions options;
    options.port = 0;
    options.threads = 16;
    moin::HttpApiServer server(*engine, options);
    server.start();
    const QJsonObject body{{"model", "base"},
        {"prompt", "In"},
        {"max_tokens", 40},
        {"temperature", 1},
        {"repetition_penalty", 1.0}};
    std::vector<RawClient*> clients;
    for (int i = 0; i < 12; ++i)
        clients.push_back(new RawClient(server.port(), "/v1/completions", toJson(body), this));
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(clients.begin(), clients.end(),
                                 [](const RawClient* c) { return c->finished(); }),
        60000);
    int ok = 0;
    int busy = 0;
    for (RawClient* client : clients) {
        if (client->status() == 200) {
            ++ok;
        } else {
            QCOMPARE(client->status(), 503);
            const QJsonObject error =
                QJsonDocument::fromJson(client->body()).object()["error"].toObject();
            QCOMPARE(error["code"].toString(), QString("server_busy"));
            QCOMPARE(error["type"].toString(), QString("server_error"));
            ++busy;
        }
        client->deleteLater();
    }
    qInfo("queue of 1: %d answered, %d refused with 503", ok, busy);
    QVERIFY(ok >= 1);
    QVERIFY(busy >= 1);
    server.stop();
}

void TestApi::clientDisconnectCancelsTheStream()
{
    QVERIFY(serve());
    // The client reads the first event, then leaves; the server notices at its next writes and
    // cancels the request, which is still recorded, stopped early. The tiny model is fast, so
    // a slow client may only leave after the answer: a few tries.
    const moin::HttpApiStats before = m_server->stats();
    bool cancelled = false;
    int attempts = 0;
    for (int attempt = 0; attempt < 5 && !cancelled; ++attempt) {
        ++attempts;
        const int recordedBefore = int(m_server->stats().recorded);
        QJsonObject body {{"model", "base"}, {"prompt", "In"}, {"max_tokens", 60},
            {"temperature", 0.9}, {"repetition_penalty", 1.0}, {"seed", attempt}, {"stream", true}};
        auto* client = new RawClient(m_port, "/v1/completions", toJson(body), this, true);
        QTRY_VERIFY_WITH_TIMEOUT(client->finished(), 10000);
        QVERIFY(client->body().contains("data: "));
        client->deleteLater();
        QTRY_VERIFY_WITH_TIMEOUT(m_server->stats().recorded > recordedBefore, 10000);
        moin::Workspace workspace = reader();
        moin::ConversationStore store(workspace);
        const auto messages = store.messages(store.list().front().id);
        QCOMPARE(messages.back().role, std::string("assistant"));
        if (messages.back().stopReason == "cancelled") {
            cancelled = true;
            QVERIFY(messages.back().completionTokens < 60);
        }
    }
    QVERIFY(cancelled);
    qInfo("cancelled at attempt %d", attempts);
    QVERIFY(m_server->stats().disconnects > before.disconnects);
    // The server still answers.
    QCOMPARE(request(m_nam, m_port, "GET", "/v1/models").status, 200);
}

void TestApi::sixtyFourConcurrentClientsAllRecorded()
{
    QVERIFY(serve());
    const int before = apiConversations();
    constexpr int kClients = 64;
    std::vector<RawClient*> clients;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < kClients; ++i) {
        QJsonObject body = chatBody(topicText(i % 3, 200 + i, 2), 8);
        body["temperature"] = 0.7;
        body["seed"] = i;
        if (i % 4 == 3)
            body["stream"] = true;
        clients.push_back(new RawClient(m_port, "/v1/chat/completions", toJson(body), this));
    }
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(clients.begin(), clients.end(),
                                 [](const RawClient* c) { return c->finished(); }),
        120000);
    const double seconds = timer.elapsed() / 1000.0;
    qInfo("%d concurrent clients (8 tokens each): %.2f s, %.1f requests/s", kClients, seconds,
        kClients / seconds);

    std::map<QString, QString> answers; // completion id -> text
    for (int i = 0; i < kClients; ++i) {
        RawClient* client = clients[size_t(i)];
        QVERIFY2(client->error().isEmpty(), qPrintable(client->error()));
        QVERIFY2(client->status() == 200,
                 qPrintable(QString("status %1: %2").arg(client->status()).arg(
                     QString::fromUtf8(client->body()))));
        if (i % 4 == 3) {
            bool done = false;
            QString text;
            const QList<QJsonObject> events = parseEvents(client->body(), &done);
            QVERIFY(done);
            for (const QJsonObject& e : events)
                text += e["choices"]
                            .toArray()
                            .at(0)
                            .toObject()["delta"]
                            .toObject()["content"]
                            .toString();
            answers[events.first()["id"].toString()] = text;
        } else {
            const QJsonObject body = QJsonDocument::fromJson(client->body()).object();
            answers[body["id"].toString()] = choiceText(body);
        }
        client->deleteLater();
    }
    QCOMPARE(int(answers.size()), kClients);

    // Every request is in the workspace, each with its question and its answer.
    QCOMPARE(apiConversations(), before + kClients);
    moin::Workspace workspace = reader();
    moin::ConversationStore store(workspace);
    std::multiset<QString> recordedAnswers;
    int checked = 0;
    for (const moin::Conversation& c : store.list()) {
        if (c.source != "api" || checked == kClients)
            continue;
        ++checked;
        const auto messages = store.messages(c.id);
        QCOMPARE(int(messages.size()), 3);
        QCOMPARE(messages[0].role, std::string("system"));
        QCOMPARE(messages[1].role, std::string("user"));
        const moin::ChatMessage& answer = messages[2];
        QCOMPARE(answer.role, std::string("assistant"));
        QVERIFY(
            answer.answeredBy == "base" || answer.answeredBy == "0" || answer.answeredBy == "1");
        QVERIFY(answer.completionTokens >= 1 && answer.completionTokens <= 8);
        QVERIFY(answer.promptTokens > 0);
        QVERIFY(answer.latencySeconds > 0);
        QVERIFY(answer.candidatesJson.find("expert") != std::string::npos);
        recordedAnswers.insert(QString::fromStdString(answer.content));
    }
    std::multiset<QString> sentAnswers;
    for (const auto& [id, text] : answers)
        sentAnswers.insert(text);
    QVERIFY(recordedAnswers == sentAnswers);
    QCOMPARE(m_server->stats().recordFailures, int64_t(0));
}

void TestApi::stopServer()
{
    QVERIFY(serve());
    // A request of its own, answered and recorded (the counts may follow the answer).
    const moin::HttpApiStats before = m_server->stats();
    VERIFY_STATUS(request(m_nam, m_port, "POST", "/v1/chat/completions",
                          toJson(chatBody("compiler parser", 2))),
                  200);
    // At least one more: under heavy load the client library may send the request again.
    QTRY_VERIFY_WITH_TIMEOUT(m_server->stats().completions > before.completions, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(m_server->stats().recorded > before.recorded, 10000);
    QCOMPARE(m_server->stats().recordFailures, int64_t(0));
    m_server->stop();
    QVERIFY(!m_server->isRunning());
    QCOMPARE(m_server->port(), 0);
    // Nothing listens any more.
    QTcpSocket socket;
    socket.connectToHost("127.0.0.1", quint16(m_port));
    QVERIFY(!socket.waitForConnected(2000));
}

void TestApi::cliGenerateWithWorkspace()
{
    stopSharedServer();
    Run run = runMoin({"generate", m_dir, "--expert", "base", "--max-tokens", "4", "--temperature",
        "0", "--threads", "1", "compiler parser"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.startsWith("compiler parser"), qPrintable(run.out));
    QVERIFY2(run.err.contains("[base"), qPrintable(run.err));
    QVERIFY2(run.err.contains("tok/s"), qPrintable(run.err));

    // Routed: the decision on stderr names the router's expert.
    const QString text = topicText(0, 104, 5);
    const int expert = m_engine->route(text.toStdString()).expert;
    run = runMoin({"generate", m_dir, "--max-tokens", "3", "--threads", "1", text});
    QCOMPARE(run.exitCode, 0);
    const QString expected = expert == 2 ? QString("[base") : QString("[expert %1 ").arg(expert);
    QVERIFY2(run.err.contains(expected), qPrintable(run.err));

    run = runMoin({"generate", m_dir, "--expert", "2", "x"});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains("no trained adapter"), qPrintable(run.err));
    run = runMoin({"generate", m_tmp.filePath("nowhere"), "x"});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains("not a workspace"), qPrintable(run.err));
    run = runMoin({"generate", "--model", m_base, "--expert", "1", "x"});
    QCOMPARE(run.exitCode, 1);
    // The model form still works.
    run = runMoin({"generate", "--model", m_base, "--max-tokens", "3", "--threads", "1", "In"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.err.contains("tokens/s"), qPrintable(run.err));
}

void TestApi::cliChat()
{
    stopSharedServer();
    size_t before = 0;
    {
        moin::Workspace workspace = reader();
        before = moin::ConversationStore(workspace).list().size();
    }
    const Run run
        = runMoin({"chat", m_dir, "--max-tokens", "4", "--temperature", "0", "--threads", "1"},
            "compiler parser linker\n/expert 1\nshepherd temple\n/quit\n");
    QCOMPARE(run.exitCode, 0);
    const QStringList badges
        = run.err.split('\n').filter(QRegularExpression("^\\[(expert \\d+|base).*tok/s\\]$"));
    QCOMPARE(badges.size(), 2);
    QVERIFY2(badges[1].startsWith("[expert 1 "), qPrintable(run.err));
    moin::Workspace workspace = reader();
    moin::ConversationStore store(workspace);
    const auto conversations = store.list();
    QCOMPARE(conversations.size(), before + 1);
    const moin::Conversation chat = conversations.front();
    QCOMPARE(chat.source, std::string("cli"));
    QCOMPARE(chat.expertChoice, std::string("1"));
    const auto messages = store.messages(chat.id);
    QCOMPARE(int(messages.size()), 4);
    QCOMPARE(messages[0].content, std::string("compiler parser linker"));
    QCOMPARE(messages[1].role, std::string("assistant"));
    QCOMPARE(messages[1].expertChoice, std::string("auto"));
    QCOMPARE(messages[3].answeredBy, std::string("1"));
    QVERIFY(messages[3].completionTokens >= 1);
}

void TestApi::cliServe()
{
    stopSharedServer();
    QProcess serve;
    serve.start(MOIN_CLI_PATH, {"serve", m_dir, "--port", "0", "--threads", "1", "--no-record"});
    QVERIFY(serve.waitForStarted());
    QRegularExpressionMatch match;
    QTRY_VERIFY_WITH_TIMEOUT(
        (match = QRegularExpression("Serving on http://127\\.0\\.0\\.1:(\\d+)/v1")
                     .match(QString::fromUtf8(serve.peek(4096))))
            .hasMatch(),
        60000);
    const int port = match.captured(1).toInt();
    const Http reply = request(m_nam, port, "POST", "/v1/completions",
        toJson(QJsonObject {{"prompt", "In"}, {"max_tokens", 2}}));
    VERIFY_STATUS(reply, 200);
    serve.terminate(); // SIGTERM: stops like Ctrl-C
    QVERIFY(serve.waitForFinished(30000));
    QCOMPARE(serve.exitStatus(), QProcess::NormalExit);
    QCOMPARE(serve.exitCode(), 0);
    QVERIFY2(serve.readAllStandardError().contains("1 completions"), "stats line missing");
}

QTEST_GUILESS_MAIN(TestApi)
#include "tst_api.moc"
