// moin/utf8.h, the one UTF-8 check of the corpus import and the safetensors reader: offsets of
// the first bad byte for each kind of malformed sequence, and agreement with Qt's own UTF-8
// decoder (an independent implementation) on many random byte strings.
#include "moin/utf8.h"

#include <QByteArray>
#include <QStringDecoder>
#include <QTest>
#include <random>
#include <string>

using moin::invalidUtf8At;
using moin::isValidUtf8;

namespace {
constexpr size_t kNone = std::string::npos;
} // namespace

class TestUtf8 : public QObject {
    Q_OBJECT
private slots:
    void firstBadByte_data();
    void firstBadByte();
    void agreesWithQtsDecoder();
};

void TestUtf8::firstBadByte_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qsizetype>("offset"); // -1: well-formed

    QTest::newRow("empty") << QByteArray() << qsizetype(-1);
    QTest::newRow("ascii") << QByteArray("plain text\n") << qsizetype(-1);
    QTest::newRow("two, three and four bytes")
        << QByteArray("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\xA6\x80") << qsizetype(-1); // é € 🦀
    QTest::newRow("lowest of each length")
        << QByteArray("\xC2\x80\xE0\xA0\x80\xF0\x90\x80\x80") << qsizetype(-1);
    QTest::newRow("U+10FFFF") << QByteArray("\xF4\x8F\xBF\xBF") << qsizetype(-1);
    QTest::newRow("around the surrogates")
        << QByteArray("\xED\x9F\xBF\xEE\x80\x80") << qsizetype(-1); // U+D7FF U+E000
    QTest::newRow("NUL is a character") << QByteArray("a\0b", 3) << qsizetype(-1);

    QTest::newRow("continuation without a lead") << QByteArray("ab\x80") << qsizetype(2);
    QTest::newRow("after a character") << QByteArray("a\xC3\xA9\xFF") << qsizetype(3);
    QTest::newRow("0xF8 lead") << QByteArray("\xF8\x88\x80\x80\x80") << qsizetype(0);
    QTest::newRow("0xFE") << QByteArray("x\xFE") << qsizetype(1);
    QTest::newRow("truncated at the end") << QByteArray("ok\xE2\x82") << qsizetype(2);
    QTest::newRow("ASCII inside a sequence") << QByteArray("\xE2x\xAC") << qsizetype(0);
    QTest::newRow("overlong two bytes") << QByteArray("\xC0\xAF") << qsizetype(0);
    QTest::newRow("overlong three bytes") << QByteArray("a\xE0\x80\xAF") << qsizetype(1);
    QTest::newRow("overlong four bytes") << QByteArray("\xF0\x8F\xBF\xBF") << qsizetype(0);
    QTest::newRow("high surrogate") << QByteArray("\xED\xA0\x80") << qsizetype(0);
    QTest::newRow("low surrogate") << QByteArray("12\xED\xBF\xBF") << qsizetype(2);
    QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << qsizetype(0);
}

void TestUtf8::firstBadByte()
{
    QFETCH(QByteArray, text);
    QFETCH(qsizetype, offset);
    const std::string_view view(text.constData(), size_t(text.size()));
    const size_t at = invalidUtf8At(view);
    QCOMPARE(at == kNone ? qsizetype(-1) : qsizetype(at), offset);
    QCOMPARE(isValidUtf8(view), offset < 0);
    if (offset >= 0) // everything before the bad byte is well-formed
        QVERIFY(isValidUtf8(view.substr(0, size_t(offset))));
}

void TestUtf8::agreesWithQtsDecoder()
{
    // Random strings of bytes drawn mostly from the bytes UTF-8 is made of, so that valid
    // multi-byte sequences are frequent and each kind of malformation occurs.
    const unsigned char pool[] = { 'a', ' ', 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
        0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF, 0xC3, 0xA9, 0xE2, 0x82, 0xAC };
    std::mt19937 rng(5);
    int valid = 0;
    int invalid = 0;
    for (int i = 0; i < 200000; ++i) {
        QByteArray bytes(int(rng() % 7), '\0');
        for (char& byte : bytes)
            byte = char(pool[rng() % sizeof(pool)]);
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        const QString decoded = decoder.decode(bytes); // sets hasError()
        Q_UNUSED(decoded)
        const bool qtValid = !decoder.hasError();
        const std::string_view view(bytes.constData(), size_t(bytes.size()));
        QVERIFY2(isValidUtf8(view) == qtValid,
            qPrintable(QString("%1: ours %2, Qt %3")
                           .arg(QString::fromLatin1(bytes.toHex(' ')))
                           .arg(isValidUtf8(view))
                           .arg(qtValid)));
        (qtValid ? valid : invalid) += 1;
    }
    // Both outcomes are common: the comparison checked something either way.
    QVERIFY2(valid > 10000 && invalid > 10000,
        qPrintable(QString("%1 valid, %2 invalid").arg(valid).arg(invalid)));
}

QTEST_GUILESS_MAIN(TestUtf8)
#include "tst_utf8.moc"
