// `moin serve --upstream`: a front process that routes and records here and forwards generation
// to another `moin serve` process holding the experts (both real processes on loopback), and
// upstreams that are down, silent, failing, malformed or cut mid-stream (raw TCP servers in this
// process); `moin export-serving` for vLLM.
#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/chatturn.h"
#include "moin/conversations.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QCryptographicHash>
#include <QDir>
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
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <algorithm>
#include <memory>

namespace {

struct Http {
    int status = 0;
    QByteArray body;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString errorMessage() const { return json()["error"].toObject()["message"].toString(); }
    QString errorCode() const { return json()["error"].toObject()["code"].toString(); }
};

#define VERIFY_STATUS(reply, expected)                                                             \
    QVERIFY2((reply).status == (expected),                                                         \
        qPrintable(QString("HTTP %1, expected %2: %3")                                             \
                       .arg((reply).status)                                                        \
                       .arg(expected)                                                              \
                       .arg(QString::fromUtf8((reply).body))))

Http request(QNetworkAccessManager& nam, int port, const QByteArray& method, const QString& path,
    const QByteArray& body = {})
{
    QNetworkRequest req(QUrl(QString("http://127.0.0.1:%1%2").arg(port).arg(path)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    QNetworkReply* reply = nam.sendCustomRequest(req, method, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(60000, &loop, &QEventLoop::quit);
    loop.exec();
    Http out;
    out.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    out.body = reply->readAll();
    reply->deleteLater();
    return out;
}

QByteArray toJson(const QJsonObject& object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// The tiny model's context is 64 tokens: short prompts.
QJsonObject chatBody(const QString& user, int maxTokens, const QString& model = {})
{
    QJsonArray messages;
    messages.append(QJsonObject {{"role", "system"}, {"content", "Brief."}});
    messages.append(QJsonObject {{"role", "user"}, {"content", user}});
    QJsonObject body {{"messages", messages}, {"max_tokens", maxTokens}, {"temperature", 0}};
    if (!model.isEmpty())
        body["model"] = model;
    return body;
}

QString choiceText(const QJsonObject& response)
{
    const QJsonObject choice = response["choices"].toArray().at(0).toObject();
    if (choice.contains("message"))
        return choice["message"].toObject()["content"].toString();
    return choice["text"].toString();
}

/// The JSON events of a server-sent event stream; `done` tells whether it ended in [DONE].
QList<QJsonObject> parseEvents(const QByteArray& stream, bool* done)
{
    QList<QJsonObject> events;
    *done = false;
    for (const QByteArray& line : stream.split('\n')) {
        if (!line.startsWith("data: "))
            continue;
        const QByteArray data = line.mid(6);
        if (data == "[DONE]") {
            *done = true;
            continue;
        }
        events << QJsonDocument::fromJson(data).object();
    }
    return events;
}

/// A `moin serve` child process; its port is read from its "Serving on" line.
class Serve {
public:
    bool start(const QStringList& arguments)
    {
        m_process.start(MOIN_CLI_PATH, QStringList {"serve"} << arguments);
        if (!m_process.waitForStarted())
            return false;
        const QRegularExpression serving("Serving on http://127\\.0\\.0\\.1:(\\d+)/v1");
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 60000 && m_process.state() == QProcess::Running) {
            m_process.waitForReadyRead(100);
            m_out += m_process.readAllStandardOutput();
            m_err += m_process.readAllStandardError();
            const QRegularExpressionMatch match = serving.match(QString::fromUtf8(m_out));
            if (match.hasMatch()) {
                m_port = match.captured(1).toInt();
                return true;
            }
        }
        m_err += m_process.readAllStandardError();
        return false;
    }
    /// SIGTERM (like Ctrl-C); returns the exit code, and keeps stderr.
    int stop()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(30000)) {
            m_process.kill();
            m_process.waitForFinished();
            return -1;
        }
        m_err += m_process.readAllStandardError();
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -2;
    }
    int port() const { return m_port; }
    QString errors() const { return QString::fromUtf8(m_err); }
    ~Serve()
    {
        if (m_process.state() != QProcess::NotRunning)
            stop();
    }

private:
    QProcess m_process;
    QByteArray m_out;
    QByteArray m_err;
    int m_port = 0;
};

/// A raw HTTP server on loopback that reads one request per connection and then answers
/// with `response` (nothing when it is empty), closing the connection after it when
/// `closeAfter` (an empty response without it: a silent upstream).
class FakeUpstream : public QTcpServer {
public:
    explicit FakeUpstream(QByteArray response, bool closeAfter = true)
        : m_response(std::move(response))
        , m_closeAfter(closeAfter)
    {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* socket = nextPendingConnection()) {
                ++m_connections;
                connect(socket, &QTcpSocket::disconnected, this, [this] { ++m_disconnects; });
                auto* received = new QByteArray;
                connect(socket, &QObject::destroyed, [received] { delete received; });
                connect(socket, &QTcpSocket::readyRead, socket, [this, socket, received] {
                    *received += socket->readAll();
                    const int split = received->indexOf("\r\n\r\n");
                    if (split < 0)
                        return;
                    const QRegularExpressionMatch length
                        = QRegularExpression("content-length: *(\\d+)")
                              .match(QString::fromLatin1(received->left(split).toLower()));
                    if (length.hasMatch() && received->size() < split + 4 + length.captured(1).toInt())
                        return;
                    m_lastRequest = *received;
                    if (m_response.isEmpty()) {
                        // Closes without a word, or stays silent with the connection open.
                        if (m_closeAfter)
                            socket->disconnectFromHost();
                        return;
                    }
                    socket->write(m_response);
                    socket->flush();
                    if (m_closeAfter)
                        socket->disconnectFromHost();
                });
            }
        });
        listen(QHostAddress::LocalHost, 0);
    }
    int port() const { return serverPort(); }
    int connections() const { return m_connections; }
    /// Connections the other side closed.
    int disconnects() const { return m_disconnects; }
    QByteArray lastRequest() const { return m_lastRequest; }

private:
    QByteArray m_response;
    bool m_closeAfter;
    int m_connections = 0;
    int m_disconnects = 0;
    QByteArray m_lastRequest;
};

QByteArray httpResponse(int status, const QByteArray& contentType, const QByteArray& body)
{
    return "HTTP/1.1 " + QByteArray::number(status) + " X\r\nContent-Type: " + contentType
        + "\r\nContent-Length: " + QByteArray::number(body.size())
        + "\r\nConnection: close\r\n\r\n" + body;
}

QByteArray sha256(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex();
}

} // namespace

class TestUpstream : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void modelsListedByTheFront();
    void routedAnswerEqualsTheExpertAskedDirectly();
    void textCompletionForwarded();
    void streamPassesThroughWithRouting();
    void upstreamRefusalPassesThrough();
    void frontRecordedEveryRequest();
    void upstreamDown();
    void upstreamSilentTimesOut();
    void upstreamFailingOrMalformed();
    void streamCutMidwayIsRecordedAsPartial();
    void streamStallingMidwayTimesOut();
    void clientLeavingCancelsTheUpstream();
    void exportServingForVllm();
    void exportServingRefusals();
    void chatTemplateBuildsMoinsPrompt();

private:
    /// The api conversations recorded in the workspace, oldest first, with their messages.
    QList<QPair<moin::Conversation, std::vector<moin::ChatMessage>>> apiConversations();
    bool startFront(Serve& front, int upstreamPort, const QStringList& extra = {});

    QTemporaryDir m_tmp;
    QString m_base;
    QString m_dir;
    int64_t m_run = 0;
    Serve m_upstream;
    Serve m_front;
    QNetworkAccessManager m_nam;
    int m_expectedRecords = 0;
};

void TestUpstream::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    const testsupport::TopicWorkspace topics = testsupport::makeTopicWorkspace(m_tmp.path());
    m_base = topics.baseModel;
    m_dir = topics.directory;
    m_run = topics.runId;
    QVERIFY(m_run > 0);
    // Experts 0 and 1 are trained; queries of cluster 2 go to the base.
    testsupport::trainTinyExperts(m_dir, m_run, {0, 1});
    // The upstream holds the experts and records nothing; the front records.
    QVERIFY2(m_upstream.start({m_dir, "--port", "0", "--threads", "1", "--no-record"}),
        qPrintable(m_upstream.errors()));
    QVERIFY2(startFront(m_front, m_upstream.port()), qPrintable(m_front.errors()));
}

bool TestUpstream::startFront(Serve& front, int upstreamPort, const QStringList& extra)
{
    return front.start(QStringList {m_dir, "--port", "0", "--upstream",
                           QString("http://127.0.0.1:%1").arg(upstreamPort)}
        << extra);
}

void TestUpstream::cleanupTestCase()
{
    m_front.stop();
    m_upstream.stop();
}

// Opened only while no front records (the front of the first tests is stopped by then).
QList<QPair<moin::Conversation, std::vector<moin::ChatMessage>>> TestUpstream::apiConversations()
{
    moin::Workspace workspace = moin::Workspace::open(m_dir.toStdString());
    moin::ConversationStore store(workspace);
    QList<QPair<moin::Conversation, std::vector<moin::ChatMessage>>> out;
    for (const moin::Conversation& c : store.list()) {
        if (c.source == "api")
            out.append({c, store.messages(c.id)});
    }
    std::sort(out.begin(), out.end(),
        [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
    return out;
}

void TestUpstream::modelsListedByTheFront()
{
    const Http reply = request(m_nam, m_front.port(), "GET", "/v1/models");
    VERIFY_STATUS(reply, 200);
    QStringList ids;
    for (const QJsonValue& model : reply.json()["data"].toArray())
        ids << model["id"].toString();
    ids.sort();
    QCOMPARE(ids, (QStringList {"auto", "base", "expert-0", "expert-1", "moin-router"}));
    // The front only routes (its router embeds with tf-idf: no base model loaded); the
    // upstream holds the base.
    QVERIFY2(m_front.errors().contains("routing here, generating on http://127.0.0.1:"),
        qPrintable(m_front.errors()));
    QVERIFY2(m_upstream.errors().contains("moin serve: base "), qPrintable(m_upstream.errors()));
}

// Each topic is routed by the front and answered upstream by that expert; asking the upstream
// for that expert directly (greedy) gives the same text, and its own router agrees.
void TestUpstream::routedAnswerEqualsTheExpertAskedDirectly()
{
    QSet<QString> upstreamModels;
    for (int topic = 0; topic < 3; ++topic) {
        const QString question = testsupport::topicText(topic, 100).section(' ', 0, 3);
        const Http routed = request(
            m_nam, m_front.port(), "POST", "/v1/chat/completions", toJson(chatBody(question, 6)));
        VERIFY_STATUS(routed, 200);
        ++m_expectedRecords;
        const QJsonObject moin = routed.json()["moin"].toObject();
        QCOMPARE(routed.json()["model"].toString(), QString("auto"));
        QCOMPARE(moin["upstream"].toString(),
            QString("http://127.0.0.1:%1").arg(m_upstream.port()));

        // The upstream's own routing of the same question (same router, another process).
        const Http reference = request(m_nam, m_upstream.port(), "POST", "/v1/chat/completions",
            toJson(chatBody(question, 6, "auto")));
        VERIFY_STATUS(reference, 200);
        const QJsonObject upstreamMoin = reference.json()["moin"].toObject();
        QCOMPARE(moin["expert"].toInt(), upstreamMoin["expert"].toInt());
        QCOMPARE(moin["answered_by"].toString(), upstreamMoin["answered_by"].toString());
        const QString model = moin["answered_by"].toString() == "base"
            ? QString("base")
            : "expert-" + moin["answered_by"].toString();
        QCOMPARE(moin["upstream_model"].toString(), model);
        upstreamModels << model;

        const Http direct = request(m_nam, m_upstream.port(), "POST", "/v1/chat/completions",
            toJson(chatBody(question, 6, model)));
        VERIFY_STATUS(direct, 200);
        QCOMPARE(choiceText(routed.json()), choiceText(direct.json()));
        QCOMPARE(choiceText(routed.json()), choiceText(reference.json()));
        QCOMPARE(routed.json()["usage"].toObject()["completion_tokens"].toInt(),
            direct.json()["usage"].toObject()["completion_tokens"].toInt());
    }
    // The three topics reach both experts and the base (cluster 2 has no expert).
    QCOMPARE(upstreamModels.size(), 3);
    QVERIFY(upstreamModels.contains("base"));

    // A forced expert is forwarded as that expert.
    const Http forced = request(m_nam, m_front.port(), "POST", "/v1/chat/completions",
        toJson(chatBody("psalm temple", 4, "expert-0")));
    VERIFY_STATUS(forced, 200);
    ++m_expectedRecords;
    QCOMPARE(forced.json()["moin"].toObject()["upstream_model"].toString(), QString("expert-0"));
    QCOMPARE(forced.json()["moin"].toObject()["answered_by"].toString(), QString("0"));
    // An expert the run does not have is refused here, not upstream.
    const Http unknown = request(m_nam, m_front.port(), "POST", "/v1/chat/completions",
        toJson(chatBody("psalm", 4, "expert-2")));
    VERIFY_STATUS(unknown, 404);
}

void TestUpstream::textCompletionForwarded()
{
    const QJsonObject body {{"prompt", "compiler parser"}, {"max_tokens", 5}, {"temperature", 0}};
    const Http routed = request(m_nam, m_front.port(), "POST", "/v1/completions", toJson(body));
    VERIFY_STATUS(routed, 200);
    ++m_expectedRecords;
    QCOMPARE(routed.json()["object"].toString(), QString("text_completion"));
    QJsonObject directBody = body;
    directBody["model"] = routed.json()["moin"].toObject()["upstream_model"].toString();
    const Http direct
        = request(m_nam, m_upstream.port(), "POST", "/v1/completions", toJson(directBody));
    VERIFY_STATUS(direct, 200);
    QCOMPARE(choiceText(routed.json()), choiceText(direct.json()));
}

void TestUpstream::streamPassesThroughWithRouting()
{
    QJsonObject body = chatBody("compiler parser register", 8);
    const Http plain
        = request(m_nam, m_front.port(), "POST", "/v1/chat/completions", toJson(body));
    VERIFY_STATUS(plain, 200);
    body["stream"] = true;
    const Http streamed
        = request(m_nam, m_front.port(), "POST", "/v1/chat/completions", toJson(body));
    VERIFY_STATUS(streamed, 200);
    m_expectedRecords += 2;
    bool done = false;
    const QList<QJsonObject> events = parseEvents(streamed.body, &done);
    QVERIFY2(done, streamed.body.constData());
    QVERIFY(events.size() >= 2);
    QString text;
    for (const QJsonObject& event : events) {
        QVERIFY2(!event.contains("error"), streamed.body.constData());
        QCOMPARE(event["model"].toString(), QString("auto"));
        text += event["choices"].toArray().at(0)["delta"].toObject()["content"].toString();
    }
    QCOMPARE(text, choiceText(plain.json()));
    // Our routing decision on the first chunk and the last.
    const QJsonObject first = events.first()["moin"].toObject();
    QCOMPARE(first["expert"].toInt(), plain.json()["moin"].toObject()["expert"].toInt());
    QCOMPARE(first["upstream_model"].toString(),
        plain.json()["moin"].toObject()["upstream_model"].toString());
    QVERIFY(events.last().contains("moin"));
    QVERIFY(!events.last()["choices"].toArray().at(0)["finish_reason"].toString().isEmpty());
    // The front always asks the upstream for usage (vLLM sends it only then) but passes it on
    // only to a client that asked for it too.
    for (const QJsonObject& event : events)
        QVERIFY2(!event.contains("usage"), streamed.body.constData());
    body["stream_options"] = QJsonObject {{"include_usage", true}};
    const Http counted
        = request(m_nam, m_front.port(), "POST", "/v1/chat/completions", toJson(body));
    VERIFY_STATUS(counted, 200);
    ++m_expectedRecords;
    const QList<QJsonObject> withUsage = parseEvents(counted.body, &done);
    QVERIFY(done);
    QVERIFY2(withUsage.last()["usage"].toObject()["completion_tokens"].toInt() > 0,
        counted.body.constData());
}

// The upstream's own refusal (a prompt longer than its context) reaches the client as a 400.
void TestUpstream::upstreamRefusalPassesThrough()
{
    const QString question = testsupport::topicText(0, 7); // 40 words: far over 64 tokens
    const Http reply = request(
        m_nam, m_front.port(), "POST", "/v1/chat/completions", toJson(chatBody(question, 4)));
    VERIFY_STATUS(reply, 400);
    ++m_expectedRecords;
    QCOMPARE(reply.errorCode(), QString("context_length_exceeded"));
    QVERIFY2(reply.errorMessage().contains(QString("127.0.0.1:%1").arg(m_upstream.port())),
        qPrintable(reply.errorMessage()));
}

void TestUpstream::frontRecordedEveryRequest()
{
    QCOMPARE(m_front.stop(), 0);
    QVERIFY2(m_front.errors().contains("forwarded"), qPrintable(m_front.errors()));
    const auto conversations = apiConversations();
    QCOMPARE(conversations.size(), m_expectedRecords);
    // The first: a routed chat, question and answer, with the expert that answered.
    const auto& [first, messages] = conversations.first();
    QCOMPARE(first.expertChoice, std::string("auto"));
    QCOMPARE(int(messages.size()), 3); // system, user, assistant
    QCOMPARE(messages[1].role, std::string("user"));
    QCOMPARE(messages[2].role, std::string("assistant"));
    QVERIFY(!messages[2].answeredBy.empty());
    QVERIFY(messages[2].completionTokens >= 1);
    QVERIFY(messages[2].latencySeconds > 0);
    // The refused one keeps its question and has no answer.
    const auto& [refused, refusedMessages] = conversations.last();
    QCOMPARE(refusedMessages.back().role, std::string("user"));
    QCOMPARE(QString::fromStdString(refusedMessages.back().content),
        testsupport::topicText(0, 7));
}

void TestUpstream::upstreamDown()
{
    int closedPort = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        closedPort = probe.serverPort();
    }
    Serve front;
    QVERIFY2(startFront(front, closedPort), qPrintable(front.errors()));
    const int before = apiConversations().size();
    QJsonObject body = chatBody("compiler kernel", 4);
    for (bool stream : {false, true}) {
        body["stream"] = stream;
        const Http reply
            = request(m_nam, front.port(), "POST", "/v1/chat/completions", toJson(body));
        VERIFY_STATUS(reply, 502);
        QCOMPARE(reply.errorCode(), QString("upstream_unreachable"));
        QVERIFY2(reply.errorMessage().contains(QString("http://127.0.0.1:%1").arg(closedPort)),
            qPrintable(reply.errorMessage()));
        QVERIFY2(reply.errorMessage().contains("is it running"), qPrintable(reply.errorMessage()));
    }
    // Still serving.
    VERIFY_STATUS(request(m_nam, front.port(), "GET", "/v1/models"), 200);
    QCOMPARE(front.stop(), 0);
    const auto conversations = apiConversations();
    QCOMPARE(conversations.size(), before + 2);
    for (int i = before; i < conversations.size(); ++i) {
        QCOMPARE(conversations[i].second.back().role, std::string("user"));
        QCOMPARE(conversations[i].second.back().content, std::string("compiler kernel"));
    }
}

void TestUpstream::upstreamSilentTimesOut()
{
    FakeUpstream silent {QByteArray(), false};
    QVERIFY(silent.isListening());
    Serve front;
    QVERIFY2(startFront(front, silent.port(), {"--upstream-timeout", "1"}),
        qPrintable(front.errors()));
    QElapsedTimer timer;
    timer.start();
    const Http reply = request(m_nam, front.port(), "POST", "/v1/chat/completions",
        toJson(chatBody("compiler kernel", 4)));
    const qint64 elapsed = timer.elapsed();
    VERIFY_STATUS(reply, 504);
    QCOMPARE(reply.errorCode(), QString("upstream_timeout"));
    QVERIFY2(reply.errorMessage().contains("did not answer within 1 s"),
        qPrintable(reply.errorMessage()));
    QVERIFY2(elapsed >= 900 && elapsed < 10000, qPrintable(QString::number(elapsed)));
    // Forwarded with the routed model name, not the client's "auto".
    QVERIFY2(QRegularExpression("\"model\":\"(expert-\\d+|base)\"")
                 .match(QString::fromUtf8(silent.lastRequest()))
                 .hasMatch(),
        silent.lastRequest().constData());
    QCOMPARE(front.stop(), 0);
    QCOMPARE(apiConversations().last().second.back().content, std::string("compiler kernel"));
}

void TestUpstream::upstreamFailingOrMalformed()
{
    FakeUpstream failing {httpResponse(500, "application/json",
        R"({"error":{"message":"CUDA out of memory","type":"server_error"}})")};
    FakeUpstream malformed {httpResponse(200, "application/json", "<html>hello</html>")};
    FakeUpstream noAdapter {httpResponse(404, "application/json",
        R"({"error":{"message":"The model `expert-1` does not exist.","code":404}})")};
    FakeUpstream hangsUp {QByteArray(), true};
    struct Case {
        FakeUpstream* upstream;
        int status;
        QString code;
        QString says;
    };
    for (const Case& c : {Case {&failing, 502, "upstream_error", "CUDA out of memory"},
             Case {&malformed, 502, "upstream_bad_response", "not with an OpenAI completion"},
             Case {&noAdapter, 502, "upstream_model_not_found", "export-serving"},
             Case {&hangsUp, 502, "upstream_closed", "closed the connection"}}) {
        Serve front;
        QVERIFY2(startFront(front, c.upstream->port()), qPrintable(front.errors()));
        const Http reply = request(m_nam, front.port(), "POST", "/v1/chat/completions",
            toJson(chatBody("compiler kernel", 4)));
        VERIFY_STATUS(reply, c.status);
        QCOMPARE(reply.errorCode(), c.code);
        QVERIFY2(reply.errorMessage().contains(c.says), qPrintable(reply.errorMessage()));
        QVERIFY2(reply.errorMessage().contains(QString::number(c.upstream->port())),
            qPrintable(reply.errorMessage()));
        // The front keeps serving after the failure.
        VERIFY_STATUS(request(m_nam, front.port(), "GET", "/v1/models"), 200);
        QCOMPARE(front.stop(), 0);
    }
}

void TestUpstream::streamCutMidwayIsRecordedAsPartial()
{
    // Two chunks, then the connection closes without [DONE].
    const QByteArray events
        = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"expert-1\","
          "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Half\"},"
          "\"finish_reason\":null}]}\n\n"
          "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"expert-1\","
          "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" an answer\"},"
          "\"finish_reason\":null}]}\n\n";
    FakeUpstream cutting {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Connection: close\r\n\r\n"
        + events};
    Serve front;
    QVERIFY2(startFront(front, cutting.port()), qPrintable(front.errors()));
    QJsonObject body = chatBody("compiler kernel", 4);
    body["stream"] = true;
    const Http reply = request(m_nam, front.port(), "POST", "/v1/chat/completions", toJson(body));
    VERIFY_STATUS(reply, 200);
    bool done = false;
    const QList<QJsonObject> received = parseEvents(reply.body, &done);
    QVERIFY2(done, reply.body.constData());
    QCOMPARE(received.size(), 3);
    QCOMPARE(received[0]["choices"].toArray().at(0)["delta"].toObject()["content"].toString(),
        QString("Half"));
    QCOMPARE(received[0]["model"].toString(), QString("auto"));
    QVERIFY(received[0].contains("moin"));
    const QJsonObject error = received[2]["error"].toObject();
    QCOMPARE(error["code"].toString(), QString("upstream_stream_failed"));
    QVERIFY2(error["message"].toString().contains("partial answer"),
        qPrintable(error["message"].toString()));
    QCOMPARE(front.stop(), 0);
    const std::vector<moin::ChatMessage> messages = apiConversations().last().second;
    QCOMPARE(messages.back().role, std::string("assistant"));
    QCOMPARE(messages.back().content, std::string("Half an answer"));
    QCOMPARE(messages.back().stopReason, std::string("upstream_error"));
}

// One chunk, then silence with the connection open.
const QByteArray kOneChunkThenSilence
    = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
      "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"expert-1\","
      "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Half\"},"
      "\"finish_reason\":null}]}\n\n";

void TestUpstream::streamStallingMidwayTimesOut()
{
    FakeUpstream stalling {kOneChunkThenSilence, false};
    Serve front;
    QVERIFY2(startFront(front, stalling.port(), {"--upstream-timeout", "1"}),
        qPrintable(front.errors()));
    QJsonObject body = chatBody("compiler kernel", 4);
    body["stream"] = true;
    QElapsedTimer timer;
    timer.start();
    const Http reply = request(m_nam, front.port(), "POST", "/v1/chat/completions", toJson(body));
    VERIFY_STATUS(reply, 200);
    QVERIFY2(timer.elapsed() < 10000, qPrintable(QString::number(timer.elapsed())));
    bool done = false;
    const QList<QJsonObject> received = parseEvents(reply.body, &done);
    QVERIFY2(done, reply.body.constData());
    QCOMPARE(received.size(), 2);
    const QString message = received[1]["error"].toObject()["message"].toString();
    QVERIFY2(message.contains("did not answer within 1 s"), qPrintable(message));
    QCOMPARE(front.stop(), 0);
    const std::vector<moin::ChatMessage> messages = apiConversations().last().second;
    QCOMPARE(messages.back().content, std::string("Half"));
    QCOMPARE(messages.back().stopReason, std::string("upstream_error"));
}

// A client that leaves mid-stream: the front stops reading the upstream (which sees its
// connection close) and records what had arrived as cancelled.
void TestUpstream::clientLeavingCancelsTheUpstream()
{
    FakeUpstream stalling {kOneChunkThenSilence, false};
    Serve front;
    QVERIFY2(startFront(front, stalling.port()), qPrintable(front.errors()));
    QJsonObject body = chatBody("compiler kernel", 4);
    body["stream"] = true;
    const QByteArray payload = toJson(body);
    QTcpSocket client;
    QByteArray received;
    connect(&client, &QTcpSocket::connected, this, [&] {
        client.write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: "
            + QByteArray::number(payload.size()) + "\r\n\r\n" + payload);
    });
    connect(&client, &QTcpSocket::readyRead, this, [&] { received += client.readAll(); });
    client.connectToHost("127.0.0.1", quint16(front.port()));
    QTRY_VERIFY_WITH_TIMEOUT(received.contains("Half"), 20000);
    client.abort();
    QCOMPARE(stalling.disconnects(), 0);
    // The front notices at its next keep-alive write and closes the upstream connection.
    QTRY_VERIFY_WITH_TIMEOUT(stalling.disconnects() == 1, 15000);
    QCOMPARE(front.stop(), 0);
    QVERIFY2(front.errors().contains("1 streams cut by their client"), qPrintable(front.errors()));
    const std::vector<moin::ChatMessage> messages = apiConversations().last().second;
    QCOMPARE(messages.back().content, std::string("Half"));
    QCOMPARE(messages.back().stopReason, std::string("cancelled"));
}

void TestUpstream::exportServingForVllm()
{
    const QString out = m_tmp.filePath("serving");
    QProcess process;
    process.start(MOIN_CLI_PATH, {"export-serving", m_dir, out, "--format", "vllm"});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY2(process.exitCode() == 0, process.readAllStandardError().constData());

    QFile manifestFile(out + "/manifest.json");
    QVERIFY(manifestFile.open(QIODevice::ReadOnly));
    const QJsonObject manifest = QJsonDocument::fromJson(manifestFile.readAll()).object();
    QCOMPARE(manifest["format"].toString(), QString("vllm"));
    QCOMPARE(manifest["run"].toInt(), int(m_run));
    QCOMPARE(manifest["base_model"].toObject()["served_name"].toString(), QString("base"));
    QCOMPARE(manifest["max_lora_rank"].toInt(), 4);
    QCOMPARE(manifest["server_max_lora_rank"].toInt(), 8); // vLLM's smallest size that fits

    QFile launchFile(out + "/launch-vllm.sh");
    QVERIFY(launchFile.open(QIODevice::ReadOnly));
    const QString launch = QString::fromUtf8(launchFile.readAll());
    QVERIFY(launchFile.permissions() & QFileDevice::ExeOwner);
    QVERIFY2(launch.contains("vllm serve \"$BASE\" --served-model-name base --enable-lora"),
        qPrintable(launch));
    QVERIFY(launch.contains("--max-lora-rank 8"));
    QVERIFY(launch.contains("--max-loras 2"));

    moin::Workspace workspace = moin::Workspace::open(m_dir.toStdString());
    const std::vector<moin::ExpertInfo> experts = moin::TrainingQueue(workspace).experts(m_run);
    const QJsonArray listed = manifest["experts"].toArray();
    QCOMPARE(listed.size(), int(experts.size()));
    for (const moin::ExpertInfo& expert : experts) {
        const QString name = QString("expert-%1").arg(expert.cluster);
        QJsonObject entry;
        for (const QJsonValue& e : listed)
            if (e["name"].toString() == name)
                entry = e.toObject();
        QCOMPARE(entry["cluster"].toInt(), expert.cluster);
        QCOMPARE(entry["path"].toString(), "adapters/" + name);
        QCOMPARE(entry["rank"].toInt(), 4);
        for (const char* file : {"adapter_config.json", "adapter_model.safetensors"}) {
            const QByteArray exported = sha256(out + "/adapters/" + name + "/" + file);
            QVERIFY(!exported.isEmpty());
            QCOMPARE(exported,
                sha256(QString::fromStdString(expert.adapterPath) + "/" + file));
        }
        QVERIFY2(launch.contains(name + "=\"$HERE/adapters/" + name + "\""), qPrintable(launch));
    }
    QFile front(out + "/moin-upstream.sh");
    QVERIFY(front.open(QIODevice::ReadOnly));
    QVERIFY(front.readAll().contains("--upstream \"$UPSTREAM\""));
    QVERIFY(QFile::exists(out + "/chat-template.jinja"));
    // Nothing left beside it.
    QCOMPARE(QDir(m_tmp.path()).entryList({"serving.*"}, QDir::AllEntries), QStringList());
    // The launch script is valid shell (parsed, not run).
    QCOMPARE(QProcess::execute("sh", {"-n", out + "/launch-vllm.sh"}), 0);
}

void TestUpstream::exportServingRefusals()
{
    const QString out = m_tmp.filePath("serving"); // written by the test before
    QVERIFY(QFile::exists(out + "/manifest.json"));
    QFile marker(out + "/mine.txt");
    QVERIFY(marker.open(QIODevice::WriteOnly));
    marker.write("keep");
    marker.close();
    QProcess process;
    process.start(MOIN_CLI_PATH, {"export-serving", m_dir, out});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY(process.exitCode() != 0);
    const QString refused = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(refused.contains("is not empty") && refused.contains("--force"), qPrintable(refused));
    QVERIFY(QFile::exists(out + "/mine.txt")); // untouched

    process.start(MOIN_CLI_PATH, {"export-serving", m_dir, m_tmp.filePath("other"), "--format",
                                     "lorax"});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY(process.exitCode() != 0);
    const QString unknown = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(unknown.contains("unknown serving format 'lorax'") && unknown.contains("vllm"),
        qPrintable(unknown));
    QVERIFY(!QFile::exists(m_tmp.filePath("other")));

    // --force never replaces what the export is made from, nor a folder that is no export.
    const QString stuff = m_tmp.filePath("stuff");
    QVERIFY(QDir().mkpath(stuff));
    QFile other(stuff + "/notes.txt");
    QVERIFY(other.open(QIODevice::WriteOnly));
    other.close();
    for (const QString& precious : {m_dir, m_tmp.path(), m_base, stuff}) {
        process.start(MOIN_CLI_PATH, {"export-serving", m_dir, precious, "--force"});
        QVERIFY(process.waitForFinished(60000));
        QVERIFY(process.exitCode() != 0);
        const QString error = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(error.contains("overlaps") || error.contains("holds no earlier export"),
            qPrintable(error));
    }
    QVERIFY(QFile::exists(m_dir + "/workspace.sqlite"));
    QVERIFY(QFile::exists(m_base + "/config.json"));
    QVERIFY(QFile::exists(stuff + "/notes.txt"));
    const QString inside = m_base + "/serving-inside";
    process.start(MOIN_CLI_PATH, {"export-serving", m_dir, inside, "--copy-base"});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY(process.exitCode() != 0);
    QVERIFY2(process.readAllStandardError().contains("overlaps"), "an export inside the base");
    QVERIFY(!QFile::exists(inside));

    process.start(MOIN_CLI_PATH, {"export-serving", m_dir, out, "--force", "--copy-base"});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY2(process.exitCode() == 0, process.readAllStandardError().constData());
    QVERIFY(!QFile::exists(out + "/mine.txt"));
    QVERIFY(QFile::exists(out + "/base/config.json"));
    QFile launch(out + "/launch-vllm.sh");
    QVERIFY(launch.open(QIODevice::ReadOnly));
    QVERIFY(launch.readAll().contains("BASE=\"$HERE/base\""));
}

// vLLM renders chat-template.jinja with Jinja2 as transformers does (trim_blocks,
// lstrip_blocks, sandboxed); the prompt must be buildChatPrompt()'s, which `moin serve` uses.
void TestUpstream::chatTemplateBuildsMoinsPrompt()
{
    // A declared dependency (packaging/install-deps.sh): missing, the test fails, not skips.
    QVERIFY2(QProcess::execute("/usr/bin/python3", {"-c", "import jinja2"}) == 0,
             "python3-jinja2 is not installed: run packaging/install-deps.sh");
    const QString out = m_tmp.filePath("serving");
    QVERIFY(QFile::exists(out + "/chat-template.jinja"));
    using Turns = std::vector<std::pair<std::string, std::string>>;
    struct Case {
        std::string system;
        Turns turns;
    };
    const std::vector<Case> cases {{"Brief.", {{"user", "hi"}}},
        {"", {{"user", "hi"}, {"assistant", "yo"}, {"user", "more, please"}}},
        {"Line one\nline two", {{"user", "psalm  temple"}, {"assistant", ""}, {"user", "x"}}}};
    QJsonArray conversations;
    for (const Case& c : cases) {
        QJsonArray messages;
        if (!c.system.empty())
            messages.append(QJsonObject {
                {"role", "system"}, {"content", QString::fromStdString(c.system)}});
        for (const auto& [role, content] : c.turns)
            messages.append(QJsonObject {{"role", QString::fromStdString(role)},
                {"content", QString::fromStdString(content)}});
        conversations.append(messages);
    }
    QProcess python;
    python.start("/usr/bin/python3",
        {"-c",
            "import json, sys\n"
            "from jinja2.sandbox import ImmutableSandboxedEnvironment\n"
            "env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)\n"
            "t = env.from_string(open(sys.argv[1]).read())\n"
            "print(json.dumps([t.render(messages=m, add_generation_prompt=True)\n"
            "                  for m in json.load(sys.stdin)]))\n",
            out + "/chat-template.jinja"});
    python.write(QJsonDocument(conversations).toJson());
    python.closeWriteChannel();
    QVERIFY(python.waitForFinished(30000));
    QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
    const QJsonArray rendered = QJsonDocument::fromJson(python.readAllStandardOutput()).array();
    QCOMPARE(rendered.size(), int(cases.size()));
    const moin::Tokenizer tokenizer
        = moin::Tokenizer::load((m_base + "/tokenizer.model").toStdString());
    for (size_t i = 0; i < cases.size(); ++i)
        QCOMPARE(rendered[int(i)].toString().toStdString(),
            moin::buildChatPrompt(cases[i].system, cases[i].turns, tokenizer, 1 << 20));
}

QTEST_GUILESS_MAIN(TestUpstream)
#include "tst_upstream.moc"
