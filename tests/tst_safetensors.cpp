// Tests of moin::SafetensorsFile, SafetensorsWriter and SafetensorsCheckpoint: round trips,
// half/bfloat16 conversions against hand-computed bits and numpy, every malformed header,
// fuzzed files, atomic writes that fail, sharded checkpoints.
#include "moin/safetensors.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <csignal>
#include <cstring>
#include <functional>
#include <limits>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

using moin::DType;
using moin::SafetensorsCheckpoint;
using moin::SafetensorsFile;
using moin::SafetensorsWriter;
using moin::TensorInfo;

Q_DECLARE_METATYPE(moin::DType)
Q_DECLARE_METATYPE(std::vector<int64_t>)

namespace {

const DType kAllDTypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                            DType::I32, DType::I16, DType::I8,   DType::U8,  DType::Bool};

// The float32 bit patterns of tests/data/make_safetensors_reference.py, in the same order.
const uint32_t kSpecialBits[] = {
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x477FE000, 0x477FEFFF,
    0x477FF000, 0x33000000, 0x33000001, 0x33800000, 0x33400000, 0x38800000, 0x3F801000,
    0x3F803000, 0x387FF000, 0x7F7FFFFF, 0x00000001, 0x3F808000, 0x3F818000, 0x00018000,
};
constexpr int kRandomCount = 4096;

float fromBits(uint32_t bits)
{
    float value = 0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

uint32_t toBits(float value)
{
    uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

// The reference script's source_floats(): xorshift32 floats, then the special values.
std::vector<float> sourceFloats()
{
    std::vector<float> values;
    uint32_t state = 0x12345678;
    for (int i = 0; i < kRandomCount; ++i) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        const uint32_t exponent = 100 + (state >> 23) % 52;
        values.push_back(fromBits((state & 0x807FFFFFu) | (exponent << 23)));
    }
    for (uint32_t bits : kSpecialBits)
        values.push_back(fromBits(bits));
    return values;
}

QByteArray le64(quint64 value)
{
    QByteArray bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = char((value >> (8 * i)) & 0xff);
    return bytes;
}

// A safetensors file with `header` verbatim (no padding) and `dataBytes` zero bytes of data.
QByteArray makeFile(const QByteArray& header, int dataBytes = 0)
{
    return le64(quint64(header.size())) + header + QByteArray(dataBytes, '\0');
}

bool writeBytes(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
           && file.write(bytes) == bytes.size();
}

QByteArray readBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The message of the moin::Error `action` throws, or a null string if it does not throw. Any
// other exception escapes, and Qt Test fails the test on it.
QString errorOf(const std::function<void()>& action)
{
    try {
        action();
    } catch (const moin::Error& error) {
        return QString::fromStdString(error.what());
    }
    return QString();
}

// Deterministic bytes for `dtype`: booleans are 0 or 1, everything else any byte.
std::vector<unsigned char> sampleBytes(DType dtype, size_t count, uint32_t seed)
{
    std::vector<unsigned char> bytes(count);
    uint32_t state = seed * 2654435761u + 1;
    for (unsigned char& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<unsigned char>(state >> 24);
        if (dtype == DType::Bool)
            byte &= 1;
    }
    return bytes;
}

std::string str(const QString& text)
{
    return text.toStdString();
}

// Removes write permission from a folder for its lifetime.
// Makes a folder read-only for its lifetime. Root ignores permission bits (CI runs as root),
// so there the folder is also made immutable (chattr +i; ext4 and most disk file systems), which
// binds root too.
// The reference is a declared dependency (python3-numpy), so its absence fails the test.
const QString missingReference = QStringLiteral(
    "; the numpy reference is part of the test set-up: run packaging/install-deps.sh");

class ReadOnlyFolder {
public:
    explicit ReadOnlyFolder(const QString& path) : m_path(path)
    {
        QFile::setPermissions(m_path, QFile::ReadOwner | QFile::ExeOwner);
        if (::geteuid() == 0)
            m_immutable = setImmutable(true);
    }
    ~ReadOnlyFolder()
    {
        if (m_immutable)
            setImmutable(false);
        QFile::setPermissions(m_path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }

private:
    bool setImmutable(bool on) const
    {
        const int fd = ::open(QFile::encodeName(m_path).constData(), O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return false;
        int flags = 0;
        bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
        if (ok) {
            flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
            ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
        }
        ::close(fd);
        return ok;
    }

    QString m_path;
    bool m_immutable = false;
};

// Lowers the file size limit (as `ulimit -f` does) for its lifetime. SIGXFSZ is ignored
// meanwhile, so an oversized write() fails with EFBIG like a full disk fails with ENOSPC.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes)
    {
        getrlimit(RLIMIT_FSIZE, &m_old);
        m_oldHandler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit limit = m_old;
        limit.rlim_cur = bytes;
        m_ok = setrlimit(RLIMIT_FSIZE, &limit) == 0;
    }
    ~FileSizeLimit()
    {
        setrlimit(RLIMIT_FSIZE, &m_old);
        std::signal(SIGXFSZ, m_oldHandler);
    }
    bool ok() const { return m_ok; }

private:
    rlimit m_old {};
    void (*m_oldHandler)(int) = nullptr;
    bool m_ok = false;
};

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

private:
    // Runs the reference script with `arguments`; false (and *skipReason) if no python3 with
    // numpy is available. Tries PATH's python3 first, then the system one (which has Debian's
    // python3-numpy even when PATH points into a virtual environment without it).
    bool runReference(const QStringList& arguments, QString* output, QString* skipReason);
    void writeReferenceFile(const QString& path, int64_t extraBytes = 0);

private slots:
    void dtypeTable_data();
    void dtypeTable();
    void parseDTypeRejectsUnknown();

    void roundTrip_data();
    void roundTrip();
    void insertionOrderAndMetadata();
    void emptyFile();
    void moveKeepsMapping();
    void dataRejectsForeignTensorInfo();

    void halfToFloat_data();
    void halfToFloat();
    void halfToFloatNaN();
    void halfAllBitPatterns();
    void floatToHalf_data();
    void floatToHalf();
    void floatToHalfNaN();
    void bfloat16ToFloat_data();
    void bfloat16ToFloat();
    void floatToBfloat16_data();
    void floatToBfloat16();
    void readAsFloat32();
    void readAsFloat32RejectsIntegers();
    void numpyReferenceFile();
    void numpyReadsOurFile();

    void malformed_data();
    void malformed();
    void openMissingFileOrFolder();
    void truncatedAtEveryLength();
    void flippedHeaderBytes();

    void writerRejects_data();
    void writerRejects();
    void writerRejectsInvalidMetadata();
    void atomicWriteReplaces();
    void atomicWriteMissingFolder();
    void atomicWriteOverFolder();
    void atomicWriteReadOnlyFolder();
    void atomicWriteFileTooLarge();

    void shardedCheckpoint();
    void singleFileCheckpoint();
    void checkpointErrors_data();
    void checkpointErrors();
};

bool TestSafetensors::runReference(const QStringList& arguments, QString* output,
                                   QString* skipReason)
{
    QString script;
#ifdef MOIN_SOURCE_DIR
    script = QStringLiteral(MOIN_SOURCE_DIR "/tests/data/make_safetensors_reference.py");
    if (!QFileInfo::exists(script))
        script.clear();
#endif
    if (script.isEmpty())
        script = QFINDTESTDATA("data/make_safetensors_reference.py");
    if (script.isEmpty()) {
        *skipReason = "data/make_safetensors_reference.py not found";
        return false;
    }
    QStringList interpreters;
    const QString onPath = QStandardPaths::findExecutable("python3");
    if (!onPath.isEmpty())
        interpreters << onPath;
    if (QFileInfo::exists("/usr/bin/python3") && !interpreters.contains("/usr/bin/python3"))
        interpreters << "/usr/bin/python3";
    *skipReason = "no python3 found";
    for (const QString& python : interpreters) {
        QProcess process;
        process.start(python, QStringList{script} + arguments);
        if (!process.waitForFinished(120000)) {
            *skipReason = python + " did not finish: " + process.errorString();
            continue;
        }
        if (process.exitStatus() == QProcess::NormalExit && process.exitCode() == 77) {
            *skipReason = python + " has no numpy";
            continue;
        }
        *output = QString::fromUtf8(process.readAllStandardError());
        if (process.exitStatus() != QProcess::NormalExit)
            *output += "\n(crashed)";
        else if (process.exitCode() != 0)
            *output += QString("\n(exit code %1)").arg(process.exitCode());
        else
            output->clear();
        return true;
    }
    return false;
}

// A small valid file: metadata and three tensors of different dtypes, plus `extraBytes` more
// bytes in a U8 tensor.
void TestSafetensors::writeReferenceFile(const QString& path, int64_t extraBytes)
{
    SafetensorsWriter writer;
    const float weights[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.5f, 8.0f};
    writer.add("weight", DType::F32, {2, 3}, weights, sizeof weights);
    const uint16_t halves[2] = {0x3c00, 0xc000};
    writer.add("bias", DType::F16, {2}, halves, sizeof halves);
    const int64_t step = 42;
    writer.add("step", DType::I64, {}, &step, sizeof step);
    if (extraBytes > 0) {
        const std::vector<unsigned char> extra = sampleBytes(DType::U8, size_t(extraBytes), 7);
        writer.add("extra", DType::U8, {extraBytes}, extra.data(), extra.size());
    }
    writer.setMetadata({{"format", "pt"}});
    writer.write(str(path));
}

// ---- dtypes --------------------------------------------------------------------------------

void TestSafetensors::dtypeTable_data()
{
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("size");
    QTest::newRow("F32") << DType::F32 << "F32" << 4;
    QTest::newRow("F16") << DType::F16 << "F16" << 2;
    QTest::newRow("BF16") << DType::BF16 << "BF16" << 2;
    QTest::newRow("F64") << DType::F64 << "F64" << 8;
    QTest::newRow("I64") << DType::I64 << "I64" << 8;
    QTest::newRow("I32") << DType::I32 << "I32" << 4;
    QTest::newRow("I16") << DType::I16 << "I16" << 2;
    QTest::newRow("I8") << DType::I8 << "I8" << 1;
    QTest::newRow("U8") << DType::U8 << "U8" << 1;
    QTest::newRow("BOOL") << DType::Bool << "BOOL" << 1;
}

void TestSafetensors::dtypeTable()
{
    QFETCH(DType, dtype);
    QFETCH(QString, name);
    QFETCH(int, size);
    QCOMPARE(QString(moin::dtypeName(dtype)), name);
    QCOMPARE(int(moin::dtypeSize(dtype)), size);
    QVERIFY(moin::parseDType(str(name)) == dtype);
}

void TestSafetensors::parseDTypeRejectsUnknown()
{
    for (const char* name : {"F8_E4M3", "f32", "", "U16", "float32"}) {
        const QString message = errorOf([&] { moin::parseDType(name); });
        QVERIFY2(!message.isNull(), name);
        QVERIFY2(message.contains(QString("'%1'").arg(name)), qPrintable(message));
        QVERIFY2(message.contains("BF16"), qPrintable(message)); // lists what is supported
    }
}

// ---- round trips ----------------------------------------------------------------------------

void TestSafetensors::roundTrip_data()
{
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<std::vector<int64_t>>("shape");
    const std::vector<std::pair<const char*, std::vector<int64_t>>> shapes = {
        {"2x3", {2, 3}},       {"scalar", {}},        {"empty", {0}},
        {"3x0x2", {3, 0, 2}}, {"1x1x5", {1, 1, 5}},
    };
    for (DType dtype : kAllDTypes) {
        for (const auto& [shapeName, shape] : shapes) {
            const QByteArray row = QByteArray(moin::dtypeName(dtype)) + " " + shapeName;
            QTest::newRow(row.constData()) << dtype << shape;
        }
    }
}

void TestSafetensors::roundTrip()
{
    QFETCH(DType, dtype);
    QFETCH(std::vector<int64_t>, shape);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("t.safetensors");

    int64_t numel = 1;
    for (int64_t dim : shape)
        numel *= dim;
    const std::vector<unsigned char> bytes =
        sampleBytes(dtype, size_t(numel) * moin::dtypeSize(dtype), uint32_t(numel) + 3);
    // A 3-byte tensor before it puts the tensor at an odd, non-zero offset.
    const unsigned char lead[3] = {1, 2, 3};
    SafetensorsWriter writer;
    writer.add("lead", DType::U8, {3}, lead, sizeof lead);
    writer.add("t", dtype, shape, bytes.data(), bytes.size());
    writer.write(str(path));

    const SafetensorsFile file = SafetensorsFile::open(str(path));
    QCOMPARE(file.tensors().size(), size_t(2));
    QCOMPARE(file.headerSize() % 8, uint64_t(0));
    QCOMPARE(file.dataSize(), uint64_t(3 + bytes.size()));
    const QByteArray raw = readBytes(path);
    QCOMPARE(raw.left(8), le64(file.headerSize()));
    QCOMPARE(uint64_t(raw.size()), 8 + file.headerSize() + file.dataSize());

    const TensorInfo* info = file.find("t");
    QVERIFY(info);
    QVERIFY(info->dtype == dtype);
    QCOMPARE(info->shape, shape);
    QCOMPARE(info->numel(), numel);
    QCOMPARE(info->begin, uint64_t(3));
    QCOMPARE(info->bytes(), uint64_t(bytes.size()));
    QCOMPARE(QByteArray(static_cast<const char*>(file.data(*info)), int(bytes.size())),
             QByteArray(reinterpret_cast<const char*>(bytes.data()), int(bytes.size())));
    const TensorInfo* leadInfo = file.find("lead");
    QVERIFY(leadInfo);
    QVERIFY(std::memcmp(file.data(*leadInfo), lead, sizeof lead) == 0);
    // The stored bytes sit exactly where the header says, independent of the reader's pointer.
    QCOMPARE(raw.mid(int(8 + file.headerSize() + 3)),
             QByteArray(reinterpret_cast<const char*>(bytes.data()), int(bytes.size())));
}

void TestSafetensors::insertionOrderAndMetadata()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("order.safetensors");
    SafetensorsWriter writer;
    const int32_t z[2] = {1, 2};
    const int32_t a[3] = {3, 4, 5};
    const int32_t m[1] = {6};
    writer.add("z", DType::I32, {2}, z, sizeof z);
    writer.add("a", DType::I32, {3}, a, sizeof a);
    writer.add("m", DType::I32, {1}, m, sizeof m);
    QCOMPARE(writer.size(), size_t(3));
    const std::map<std::string, std::string> metadata = {
        {"format", "pt"}, {"note", "ünïcödé ✓ 🎉"}, {"empty", ""}, {"quote\"key", "a\nb"}};
    writer.setMetadata(metadata);
    writer.write(str(path));

    const SafetensorsFile file = SafetensorsFile::open(str(path));
    QCOMPARE(file.path(), str(path));
    QCOMPARE(file.tensors().size(), size_t(3));
    QCOMPARE(file.tensors()[0].name, std::string("z"));
    QCOMPARE(file.tensors()[1].name, std::string("a"));
    QCOMPARE(file.tensors()[2].name, std::string("m"));
    QCOMPARE(file.tensors()[1].begin, uint64_t(8));
    QCOMPARE(file.tensors()[2].end, uint64_t(24));
    QVERIFY(file.metadata() == metadata);
    QVERIFY(file.find("missing") == nullptr);
    QVERIFY(file.find("a") == &file.tensors()[1]);
    int32_t value = 0;
    std::memcpy(&value, static_cast<const char*>(file.data(*file.find("a"))) + 8, 4);
    QCOMPARE(value, 5);

    // Without metadata no "__metadata__" key is written at all.
    SafetensorsWriter plain;
    plain.add("x", DType::I32, {1}, m, sizeof m);
    plain.write(str(path));
    QVERIFY(!readBytes(path).contains("__metadata__"));
    QVERIFY(SafetensorsFile::open(str(path)).metadata().empty());
}

void TestSafetensors::emptyFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("empty.safetensors");
    SafetensorsWriter().write(str(path));
    QCOMPARE(readBytes(path), le64(8) + QByteArray("{}      "));
    const SafetensorsFile file = SafetensorsFile::open(str(path));
    QVERIFY(file.tensors().empty());
    QCOMPARE(file.dataSize(), uint64_t(0));
}

void TestSafetensors::moveKeepsMapping()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("m.safetensors");
    writeReferenceFile(path);
    SafetensorsFile first = SafetensorsFile::open(str(path));
    const void* weight = first.data(*first.find("weight"));

    SafetensorsFile second(std::move(first));
    QVERIFY(first.tensors().empty()); // NOLINT(bugprone-use-after-move): defined as empty
    QVERIFY(first.find("weight") == nullptr);
    QCOMPARE(second.data(*second.find("weight")), weight);
    QCOMPARE(second.readAsFloat32(*second.find("weight"))[5], 8.0f);

    SafetensorsFile third = SafetensorsFile::open(str(path));
    third = std::move(second);
    QCOMPARE(third.data(*third.find("weight")), weight);
    QCOMPARE(third.readAsFloat32(*third.find("bias"))[1], -2.0f);
}

void TestSafetensors::dataRejectsForeignTensorInfo()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeReferenceFile(dir.filePath("a.safetensors"));
    writeReferenceFile(dir.filePath("b.safetensors"), 100);
    const SafetensorsFile a = SafetensorsFile::open(str(dir.filePath("a.safetensors")));
    const SafetensorsFile b = SafetensorsFile::open(str(dir.filePath("b.safetensors")));

    TensorInfo copy = *a.find("weight"); // a copy that matches the file is fine
    QCOMPARE(a.data(copy), a.data(*a.find("weight")));
    const QString message = errorOf([&] { b.data(*b.find("extra")); });
    QVERIFY(message.isNull());
    const QString foreign = errorOf([&] { a.data(*b.find("extra")); });
    QVERIFY2(foreign.contains("'extra' is not a tensor of this file"), qPrintable(foreign));
    copy.end += 4; // a tampered copy could read past the tensor
    QVERIFY(!errorOf([&] { a.data(copy); }).isNull());
}

// ---- conversions ----------------------------------------------------------------------------

void TestSafetensors::halfToFloat_data()
{
    QTest::addColumn<uint>("half");
    QTest::addColumn<uint>("floatBits");
    // Expected float bits worked out by hand from the IEEE 754 layouts.
    QTest::newRow("+0") << 0x0000u << 0x00000000u;
    QTest::newRow("-0") << 0x8000u << 0x80000000u;
    QTest::newRow("1") << 0x3c00u << 0x3f800000u;
    QTest::newRow("-2") << 0xc000u << 0xc0000000u;
    QTest::newRow("0.333251953125") << 0x3555u << 0x3eaaa000u;
    QTest::newRow("max 65504") << 0x7bffu << 0x477fe000u;
    QTest::newRow("min normal 2^-14") << 0x0400u << 0x38800000u;
    QTest::newRow("min subnormal 2^-24") << 0x0001u << 0x33800000u;
    QTest::newRow("subnormal 2^-23") << 0x0002u << 0x34000000u;
    QTest::newRow("subnormal 3*2^-24") << 0x0003u << 0x34400000u;
    QTest::newRow("max subnormal") << 0x03ffu << 0x387fc000u;
    QTest::newRow("-min subnormal") << 0x8001u << 0xb3800000u;
    QTest::newRow("+inf") << 0x7c00u << 0x7f800000u;
    QTest::newRow("-inf") << 0xfc00u << 0xff800000u;
}

void TestSafetensors::halfToFloat()
{
    QFETCH(uint, half);
    QFETCH(uint, floatBits);
    QCOMPARE(QString::number(toBits(moin::halfToFloat(uint16_t(half))), 16),
             QString::number(floatBits, 16));
}

void TestSafetensors::halfToFloatNaN()
{
    for (uint16_t bits : {0x7e00, 0x7c01, 0x7fff, 0xfe00}) {
        const float value = moin::halfToFloat(bits);
        QVERIFY2(std::isnan(value), qPrintable(QString::number(bits, 16)));
        QCOMPARE(std::signbit(value), (bits & 0x8000) != 0);
    }
}

void TestSafetensors::halfAllBitPatterns()
{
    // Every half against the defining formula (-1)^s * 2^(e-15) * (1 + m/1024), evaluated in
    // double with ldexp; and float -> half must give the same bits back.
    for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const uint16_t half = uint16_t(bits);
        const int exponent = (half >> 10) & 0x1f;
        const int mantissa = half & 0x3ff;
        const float value = moin::halfToFloat(half);
        if (exponent == 31) {
            QVERIFY(mantissa ? std::isnan(value) : std::isinf(value));
            const uint16_t back = moin::floatToHalf(value);
            QVERIFY((back & 0x7c00) == 0x7c00 && ((back & 0x3ff) != 0) == (mantissa != 0));
            continue;
        }
        double reference = exponent == 0 ? std::ldexp(double(mantissa), -24)
                                         : std::ldexp(double(1024 + mantissa), exponent - 25);
        if (half & 0x8000)
            reference = -reference;
        if (value != float(reference) || std::signbit(value) != bool(half & 0x8000))
            QFAIL(qPrintable(QString("half %1: got %2, expected %3")
                                 .arg(bits, 4, 16, QChar('0'))
                                 .arg(double(value), 0, 'g', 17)
                                 .arg(reference, 0, 'g', 17)));
        if (moin::floatToHalf(value) != half)
            QFAIL(qPrintable(QString("half %1 does not survive float and back: %2")
                                 .arg(bits, 4, 16, QChar('0'))
                                 .arg(moin::floatToHalf(value), 4, 16, QChar('0'))));
    }
}

void TestSafetensors::floatToHalf_data()
{
    QTest::addColumn<uint>("floatBits");
    QTest::addColumn<uint>("half");
    QTest::newRow("1") << 0x3f800000u << 0x3c00u;
    QTest::newRow("-0") << 0x80000000u << 0x8000u;
    QTest::newRow("65504") << 0x477fe000u << 0x7bffu;
    QTest::newRow("just below 65520") << 0x477fefffu << 0x7bffu;
    QTest::newRow("65520 ties to inf") << 0x477ff000u << 0x7c00u;
    QTest::newRow("float max") << 0x7f7fffffu << 0x7c00u;
    QTest::newRow("+inf") << 0x7f800000u << 0x7c00u;
    QTest::newRow("-inf") << 0xff800000u << 0xfc00u;
    QTest::newRow("2^-25 ties to 0") << 0x33000000u << 0x0000u;
    QTest::newRow("just above 2^-25") << 0x33000001u << 0x0001u;
    QTest::newRow("0.75*2^-24") << 0x33400000u << 0x0001u;
    QTest::newRow("1.5*2^-24 ties to 2") << 0x33c00000u << 0x0002u;
    QTest::newRow("2.5*2^-24 ties to 2") << 0x34200000u << 0x0002u;
    QTest::newRow("1023.5*2^-24 ties to normal") << 0x387ff000u << 0x0400u;
    QTest::newRow("2^-14") << 0x38800000u << 0x0400u;
    QTest::newRow("1+2^-11 ties to 1") << 0x3f801000u << 0x3c00u;
    QTest::newRow("1+3*2^-11 ties up") << 0x3f803000u << 0x3c02u;
    QTest::newRow("just above 1+2^-11") << 0x3f801001u << 0x3c01u;
    QTest::newRow("float subnormal") << 0x00000001u << 0x0000u;
    QTest::newRow("-2^-24") << 0xb3800000u << 0x8001u;
}

void TestSafetensors::floatToHalf()
{
    QFETCH(uint, floatBits);
    QFETCH(uint, half);
    QCOMPARE(QString::number(moin::floatToHalf(fromBits(floatBits)), 16),
             QString::number(half, 16));
}

void TestSafetensors::floatToHalfNaN()
{
    for (uint32_t bits : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fbfffffu}) {
        const uint16_t half = moin::floatToHalf(fromBits(bits));
        QVERIFY2((half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0,
                 qPrintable(QString::number(half, 16)));
        QCOMPARE(bool(half & 0x8000), bool(bits & 0x80000000u));
    }
}

void TestSafetensors::bfloat16ToFloat_data()
{
    QTest::addColumn<uint>("bf16");
    QTest::addColumn<uint>("floatBits");
    QTest::newRow("1") << 0x3f80u << 0x3f800000u;
    QTest::newRow("-3.140625") << 0xc049u << 0xc0490000u;
    QTest::newRow("-0") << 0x8000u << 0x80000000u;
    QTest::newRow("min subnormal 2^-133") << 0x0001u << 0x00010000u;
    QTest::newRow("max") << 0x7f7fu << 0x7f7f0000u;
    QTest::newRow("+inf") << 0x7f80u << 0x7f800000u;
    QTest::newRow("-inf") << 0xff80u << 0xff800000u;
}

void TestSafetensors::bfloat16ToFloat()
{
    QFETCH(uint, bf16);
    QFETCH(uint, floatBits);
    QCOMPARE(QString::number(toBits(moin::bfloat16ToFloat(uint16_t(bf16))), 16),
             QString::number(floatBits, 16));
    if (bf16 == 0xc049u)
        QCOMPARE(moin::bfloat16ToFloat(uint16_t(bf16)), -3.140625f);
    if (bf16 == 0x0001u)
        QCOMPARE(double(moin::bfloat16ToFloat(uint16_t(bf16))), std::ldexp(1.0, -133));
}

void TestSafetensors::floatToBfloat16_data()
{
    QTest::addColumn<uint>("floatBits");
    QTest::addColumn<uint>("bf16");
    QTest::newRow("1") << 0x3f800000u << 0x3f80u;
    QTest::newRow("1+2^-8 ties to 1") << 0x3f808000u << 0x3f80u;
    QTest::newRow("1+3*2^-8 ties up") << 0x3f818000u << 0x3f82u;
    QTest::newRow("just above 1+2^-8") << 0x3f808001u << 0x3f81u;
    QTest::newRow("float max rounds to inf") << 0x7f7fffffu << 0x7f80u;
    QTest::newRow("below rounding to inf") << 0x7f7f7fffu << 0x7f7fu;
    QTest::newRow("subnormal ties to 0") << 0x00008000u << 0x0000u;
    QTest::newRow("subnormal ties to 2") << 0x00018000u << 0x0002u;
    QTest::newRow("+inf") << 0x7f800000u << 0x7f80u;
    QTest::newRow("-1.5") << 0xbfc00000u << 0xbfc0u;
}

void TestSafetensors::floatToBfloat16()
{
    QFETCH(uint, floatBits);
    QFETCH(uint, bf16);
    QCOMPARE(QString::number(moin::floatToBfloat16(fromBits(floatBits)), 16),
             QString::number(bf16, 16));
    // A NaN whose payload sits only in the low bits must not round into inf.
    QVERIFY(std::isnan(moin::bfloat16ToFloat(moin::floatToBfloat16(fromBits(0x7f800001u)))));
    QVERIFY(std::isnan(moin::bfloat16ToFloat(moin::floatToBfloat16(fromBits(0xffffffffu)))));
}

void TestSafetensors::readAsFloat32()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("f.safetensors");
    const uint16_t halves[4] = {0x3c00, 0x0001, 0xfc00, 0x7bff};
    const uint16_t bf16s[3] = {0xc049, 0x0001, 0x7f80};
    const double doubles[3] = {0.1, -1e300, 1e-50};
    const float floats[2] = {-7.5f, 1e-40f};
    SafetensorsWriter writer;
    writer.add("h", DType::F16, {2, 2}, halves, sizeof halves);
    writer.add("b", DType::BF16, {3}, bf16s, sizeof bf16s);
    writer.add("d", DType::F64, {3}, doubles, sizeof doubles);
    writer.add("f", DType::F32, {2}, floats, sizeof floats);
    writer.add("none", DType::F16, {0, 3}, nullptr, 0);
    writer.write(str(path));

    const SafetensorsFile file = SafetensorsFile::open(str(path));
    const std::vector<float> h = file.readAsFloat32(*file.find("h"));
    QCOMPARE(h.size(), size_t(4));
    QCOMPARE(h[0], 1.0f);
    QCOMPARE(double(h[1]), std::ldexp(1.0, -24));
    QVERIFY(std::isinf(h[2]) && h[2] < 0);
    QCOMPARE(h[3], 65504.0f);
    const std::vector<float> b = file.readAsFloat32(*file.find("b"));
    QCOMPARE(b[0], -3.140625f);
    QCOMPARE(double(b[1]), std::ldexp(1.0, -133));
    QVERIFY(std::isinf(b[2]) && b[2] > 0);
    const std::vector<float> d = file.readAsFloat32(*file.find("d"));
    QCOMPARE(d[0], 0.1f);
    QVERIFY(std::isinf(d[1]) && d[1] < 0);
    QCOMPARE(d[2], 0.0f);
    const std::vector<float> f = file.readAsFloat32(*file.find("f"));
    QCOMPARE(toBits(f[0]), toBits(-7.5f));
    QCOMPARE(toBits(f[1]), toBits(1e-40f)); // a float subnormal passes through untouched
    QVERIFY(file.readAsFloat32(*file.find("none")).empty());
}

void TestSafetensors::readAsFloat32RejectsIntegers()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("i.safetensors");
    writeReferenceFile(path);
    const SafetensorsFile file = SafetensorsFile::open(str(path));
    const QString message = errorOf([&] { file.readAsFloat32(*file.find("step")); });
    QVERIFY2(message.contains("'step'") && message.contains("I64")
                 && message.contains("floating-point"),
             qPrintable(message));
}

void TestSafetensors::numpyReferenceFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString output;
    QString skipReason;
    QVERIFY2(runReference({"write", dir.path()}, &output, &skipReason),
             qPrintable(skipReason + missingReference));
    QVERIFY2(output.isEmpty(), qPrintable(output));

    const SafetensorsFile file = SafetensorsFile::open(str(dir.filePath("reference.safetensors")));
    QCOMPARE(file.metadata().at("format"), std::string("np"));
    QCOMPARE(file.tensors().size(), size_t(9));
    int compared = 0;
    for (const char* name : {"half", "bf16", "f32", "f64", "scalar", "empty"}) {
        const TensorInfo* info = file.find(name);
        QVERIFY2(info, name);
        const QByteArray expectedBytes = readBytes(dir.filePath(QString(name) + ".f32"));
        QCOMPARE(int64_t(expectedBytes.size()), info->numel() * 4);
        const std::vector<float> values = file.readAsFloat32(*info);
        for (size_t i = 0; i < values.size(); ++i) {
            float expected = 0;
            std::memcpy(&expected, expectedBytes.constData() + 4 * i, 4);
            const bool same = std::isnan(expected) ? std::isnan(values[i])
                                                   : toBits(values[i]) == toBits(expected);
            if (!same)
                QFAIL(qPrintable(QString("%1[%2]: got %3, numpy says %4")
                                     .arg(name)
                                     .arg(i)
                                     .arg(double(values[i]), 0, 'g', 9)
                                     .arg(double(expected), 0, 'g', 9)));
            ++compared;
        }
    }
    QCOMPARE(compared, 2 * (kRandomCount + int(std::size(kSpecialBits))) + 15 + 8 + 1);
    QCOMPARE(file.find("half")->shape, std::vector<int64_t>{kRandomCount + 21});
    QCOMPARE(file.find("f64")->shape, (std::vector<int64_t>{2, 2, 2}));
    QCOMPARE(file.find("empty")->shape, (std::vector<int64_t>{0, 4}));
    QVERIFY(file.find("scalar")->shape.empty());

    const TensorInfo* i64 = file.find("i64");
    QVERIFY(i64 && i64->dtype == DType::I64);
    std::vector<int64_t> integers(6);
    std::memcpy(integers.data(), file.data(*i64), 48);
    QCOMPARE(integers[0], int64_t(-3000000000000));
    QCOMPARE(integers[5], int64_t(2000000000000));
    const TensorInfo* u8 = file.find("u8");
    QVERIFY(u8 && u8->numel() == 16);
    QCOMPARE(static_cast<const unsigned char*>(file.data(*u8))[15], uchar(255));
    const TensorInfo* flags = file.find("flags");
    QVERIFY(flags && flags->dtype == DType::Bool);
    QCOMPARE(QByteArray(static_cast<const char*>(file.data(*flags)), 3), QByteArray("\1\0\1", 3));
}

void TestSafetensors::numpyReadsOurFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("ours.safetensors");
    const std::vector<float> source = sourceFloats();
    std::vector<uint16_t> halves;
    std::vector<uint16_t> bf16s;
    for (float value : source) {
        halves.push_back(moin::floatToHalf(value));
        bf16s.push_back(moin::floatToBfloat16(value));
    }
    std::vector<int32_t> integers;
    for (int32_t i = -5; i < 7; ++i)
        integers.push_back(i);
    std::vector<double> doubles;
    for (int i = 0; i < 8; ++i)
        doubles.push_back(i / 3.0 - 1);
    SafetensorsWriter writer;
    const int64_t count = int64_t(source.size());
    writer.add("half", DType::F16, {count}, halves.data(), halves.size() * 2);
    writer.add("bf16", DType::BF16, {count}, bf16s.data(), bf16s.size() * 2);
    writer.addBorrowed("i32", DType::I32, {3, 4}, integers.data(), integers.size() * 4);
    writer.add("f64", DType::F64, {2, 2, 2}, doubles.data(), doubles.size() * 8);
    writer.setMetadata({{"producer", "moin"}, {"note", "ünïcödé ✓"}});
    writer.write(str(path));

    QString output;
    QString skipReason;
    QVERIFY2(runReference({"check", path}, &output, &skipReason),
             qPrintable(skipReason + missingReference));
    QVERIFY2(output.isEmpty(), qPrintable(output));
}

// ---- malformed files ------------------------------------------------------------------------

void TestSafetensors::malformed_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("problem");
    QTest::addColumn<QString>("tensor");
    const QByteArray w = R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})";
    auto entry = [](const char* dtype, const char* shape, const char* offsets) {
        return QByteArray(R"({"dtype": )") + dtype + R"(, "shape": )" + shape
               + R"(, "data_offsets": )" + offsets + "}";
    };

    QTest::newRow("empty file") << QByteArray() << "shorter than the 8-byte" << "";
    QTest::newRow("5 bytes") << QByteArray("\x05\0\0\0\0", 5) << "has 5 bytes" << "";
    QTest::newRow("header length beyond file")
        << le64(1000) + "{}" << "says 1000 bytes, but only 2 bytes follow" << "";
    QTest::newRow("header length over 100 MB") << le64(200000000) + "{}" << "exceeds the limit"
                                               << "";
    QTest::newRow("header length 2^64-1")
        << le64(std::numeric_limits<quint64>::max()) + "{}" << "exceeds the limit" << "";
    QTest::newRow("empty header") << makeFile("") << "not valid JSON" << "";
    QTest::newRow("invalid UTF-8") << makeFile("{\"w\xff\": {}}") << "not valid UTF-8 (byte 3"
                                   << "";
    QTest::newRow("overlong UTF-8") << makeFile("{\"\xc0\xaf\": {}}") << "not valid UTF-8" << "";
    QTest::newRow("UTF-16 surrogate") << makeFile("{\"\xed\xa0\x80\": {}}") << "not valid UTF-8"
                                      << "";
    QTest::newRow("cut UTF-8") << makeFile("{\"\xe2\x82") << "not valid UTF-8" << "";
    QTest::newRow("invalid JSON") << makeFile(R"({"w": {)") << "not valid JSON" << "";
    QTest::newRow("trailing garbage") << makeFile("{} x") << "not valid JSON" << "";
    QTest::newRow("NUL padding") << makeFile(QByteArray("{}\0\0", 4))
                                 << "contains a NUL byte (byte 2" << "";
    QTest::newRow("junk after NUL") << makeFile(QByteArray("{}\0{\"w\": 1}", 11))
                                    << "contains a NUL byte" << "";
    QTest::newRow("header is an array") << makeFile("[1, 2]") << "must be a JSON object" << "";
    QTest::newRow("header is a string") << makeFile("\"w\"") << "found string \"w\"" << "";
    QTest::newRow("entry is a number") << makeFile(R"({"w": 5})")
                                       << "expected an object with dtype, shape and data_offsets"
                                       << "w";
    QTest::newRow("missing dtype")
        << makeFile(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4)
        << "has no \"dtype\"" << "w";
    QTest::newRow("missing shape")
        << makeFile(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4)
        << "has no \"shape\"" << "w";
    QTest::newRow("missing data_offsets")
        << makeFile(R"({"w": {"dtype": "F32", "shape": [1]}})", 4)
        << "has no \"data_offsets\"" << "w";
    QTest::newRow("dtype not a string")
        << makeFile("{\"w\": " + entry("32", "[1]", "[0, 4]") + "}", 4)
        << "\"dtype\" must be a string, found integer 32" << "w";
    QTest::newRow("unknown dtype")
        << makeFile("{\"w\": " + entry("\"F8_E4M3\"", "[1]", "[0, 1]") + "}", 1)
        << "unknown dtype 'F8_E4M3' (expected one of F32, F16, BF16" << "w";
    QTest::newRow("lower-case dtype")
        << makeFile("{\"w\": " + entry("\"f32\"", "[1]", "[0, 4]") + "}", 4)
        << "unknown dtype 'f32'" << "w";
    QTest::newRow("shape not an array")
        << makeFile("{\"w\": " + entry("\"F32\"", "4", "[0, 16]") + "}", 16)
        << "\"shape\" must be an array of integers, found integer 4" << "w";
    QTest::newRow("shape of floats")
        << makeFile("{\"w\": " + entry("\"F32\"", "[2.5]", "[0, 8]") + "}", 8)
        << "must be an array of integers, found [2.5]" << "w";
    QTest::newRow("shape of strings")
        << makeFile("{\"w\": " + entry("\"F32\"", "[\"2\"]", "[0, 8]") + "}", 8)
        << "must be an array of integers" << "w";
    QTest::newRow("negative dimension")
        << makeFile("{\"w\": " + entry("\"F32\"", "[2, -1]", "[0, 8]") + "}", 8)
        << "shape [2,-1] has a negative dimension" << "w";
    QTest::newRow("one offset") << makeFile("{\"w\": " + entry("\"F32\"", "[1]", "[0]") + "}", 4)
                                << "must be two non-negative integers [begin, end], found [0]"
                                << "w";
    QTest::newRow("negative offset")
        << makeFile("{\"w\": " + entry("\"F32\"", "[1]", "[-4, 0]") + "}", 4)
        << "two non-negative integers" << "w";
    QTest::newRow("float offset")
        << makeFile("{\"w\": " + entry("\"F32\"", "[1]", "[0, 4.0]") + "}", 4)
        << "two non-negative integers" << "w";
    QTest::newRow("offsets not an array")
        << makeFile("{\"w\": " + entry("\"F32\"", "[1]", "\"0-4\"") + "}", 4)
        << "two non-negative integers" << "w";
    QTest::newRow("begin after end")
        << makeFile("{\"w\": " + entry("\"F32\"", "[1]", "[8, 4]") + "}", 8)
        << "data_offsets [8, 4]: begin is after end" << "w";
    QTest::newRow("end beyond data")
        << makeFile("{\"w\": " + entry("\"F32\"", "[2]", "[0, 8]") + "}", 4)
        << "data_offsets [0, 8] reach beyond the data section, which has 4 bytes" << "w";
    QTest::newRow("huge end") << makeFile("{\"w\": " + entry("\"F32\"", "[1]",
                                                             "[0, 18446744073709551615]")
                                          + "}",
                                          4)
                              << "reach beyond the data section" << "w";
    QTest::newRow("size mismatch")
        << makeFile("{\"w\": " + entry("\"F32\"", "[2, 2]", "[0, 12]") + "}", 12)
        << "span 12 bytes, expected 16 (F32, shape [2, 2] = 4 elements x 4 bytes)" << "w";
    QTest::newRow("numel overflow")
        << makeFile("{\"w\": " + entry("\"F32\"", "[4294967296, 4294967296]", "[0, 4]") + "}", 4)
        << "overflows 63 bits" << "w";
    QTest::newRow("overlap")
        << makeFile("{\"a\": " + entry("\"F32\"", "[2]", "[0, 8]") + ", \"b\": "
                        + entry("\"F32\"", "[2]", "[4, 12]") + "}",
                    12)
        << "tensors 'a' [0, 8] and 'b' [4, 12] overlap" << "";
    QTest::newRow("same offsets")
        << makeFile("{\"a\": " + entry("\"F32\"", "[2]", "[0, 8]") + ", \"b\": "
                        + entry("\"I32\"", "[2]", "[0, 8]") + "}",
                    8)
        << "overlap" << "";
    QTest::newRow("empty tensor inside another")
        << makeFile("{\"a\": " + entry("\"F32\"", "[2]", "[0, 8]") + ", \"b\": "
                        + entry("\"F32\"", "[0]", "[4, 4]") + "}",
                    8)
        << "overlap" << "";
    QTest::newRow("hole")
        << makeFile("{\"a\": " + entry("\"F32\"", "[1]", "[0, 4]") + ", \"b\": "
                        + entry("\"F32\"", "[1]", "[8, 12]") + "}",
                    12)
        << "bytes [4, 8) of the data section, before tensor 'b', belong to no tensor" << "";
    QTest::newRow("trailing bytes") << makeFile("{\"w\": " + w + "}", 8)
                                    << "the data section has 8 bytes, but the tensors cover only 4"
                                    << "";
    QTest::newRow("data but no tensors") << makeFile("{}", 1) << "cover only 0" << "";
    QTest::newRow("duplicate tensor name")
        << makeFile("{\"w\": " + w + ", \"w\": " + w + "}", 4) << "duplicate tensor name 'w'"
        << "";
    QTest::newRow("duplicate key in entry")
        << makeFile(R"({"w": {"dtype": "F32", "dtype": "I32", "shape": [1], )"
                    R"("data_offsets": [0, 4]}})",
                    4)
        << "duplicate key \"dtype\" in the entry of 'w'" << "";
    QTest::newRow("metadata not an object")
        << makeFile(R"({"__metadata__": [1]})")
        << "\"__metadata__\" must be an object, found array" << "";
    QTest::newRow("metadata null") << makeFile(R"({"__metadata__": null})")
                                   << "\"__metadata__\" must be an object, found null" << "";
    QTest::newRow("metadata value not a string")
        << makeFile(R"({"__metadata__": {"epoch": 3}})")
        << "\"__metadata__\" value of 'epoch' must be a string, found integer 3" << "";
    QTest::newRow("duplicate metadata")
        << makeFile(R"({"__metadata__": {}, "__metadata__": {}})")
        << "the header has \"__metadata__\" twice" << "";
}

void TestSafetensors::malformed()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, problem);
    QFETCH(QString, tensor);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("bad.safetensors");
    QVERIFY(writeBytes(path, bytes));
    const QString message = errorOf([&] { SafetensorsFile::open(str(path)); });
    QVERIFY2(!message.isNull(), "opened without an error");
    QVERIFY2(message.contains(problem), qPrintable(message));
    QVERIFY2(message.contains("'" + path + "'"), qPrintable(message));
    QVERIFY2(message.contains("(hint: "), qPrintable(message));
    if (!tensor.isEmpty())
        QVERIFY2(message.contains("tensor '" + tensor + "': "), qPrintable(message));
    // A checkpoint opened on the same file reports the same problem.
    const QString viaCheckpoint = errorOf([&] { SafetensorsCheckpoint::open(str(path)); });
    QCOMPARE(viaCheckpoint, message);
}

void TestSafetensors::openMissingFileOrFolder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString missing = dir.filePath("nope.safetensors");
    const QString noFile = errorOf([&] { SafetensorsFile::open(str(missing)); });
    QVERIFY2(noFile.contains(missing) && noFile.contains("does not exist"), qPrintable(noFile));
    const QString folder = errorOf([&] { SafetensorsFile::open(str(dir.path())); });
    QVERIFY2(folder.contains("this is a folder"), qPrintable(folder));
}

void TestSafetensors::truncatedAtEveryLength()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("whole.safetensors");
    writeReferenceFile(path);
    const QByteArray whole = readBytes(path);
    QVERIFY(whole.size() > 100);
    const QString cut = dir.filePath("cut.safetensors");
    // Tensors must tile the data section exactly, so every shorter file is an error.
    for (int length = 0; length < whole.size(); ++length) {
        QVERIFY(writeBytes(cut, whole.left(length)));
        const QString message = errorOf([&] { SafetensorsFile::open(str(cut)); });
        QVERIFY2(message.contains(cut),
                 qPrintable(QString("length %1: %2").arg(length).arg(message)));
    }
    QVERIFY(writeBytes(cut, whole));
    QCOMPARE(SafetensorsFile::open(str(cut)).tensors().size(), size_t(3));
}

void TestSafetensors::flippedHeaderBytes()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("whole.safetensors");
    writeReferenceFile(path);
    const QByteArray whole = readBytes(path);
    const int headerEnd = int(8 + SafetensorsFile::open(str(path)).headerSize());
    const QString flipped = dir.filePath("flipped.safetensors");
    int rejected = 0;
    int accepted = 0;
    for (int position = 0; position < headerEnd; ++position) {
        for (char mask : {'\x01', '\x02', '\x20', '\x80', '\xff'}) {
            QByteArray bytes = whole;
            bytes[position] = char(bytes[position] ^ mask);
            QVERIFY(writeBytes(flipped, bytes));
            try {
                const SafetensorsFile file = SafetensorsFile::open(str(flipped));
                ++accepted;
                // Whatever was accepted must be self-consistent and readable.
                for (const TensorInfo& info : file.tensors()) {
                    QVERIFY(info.end <= file.dataSize());
                    QCOMPARE(info.bytes(), uint64_t(info.numel()) * moin::dtypeSize(info.dtype));
                    if (info.dtype == DType::F32 || info.dtype == DType::F16
                        || info.dtype == DType::BF16 || info.dtype == DType::F64)
                        QCOMPARE(int64_t(file.readAsFloat32(info).size()), info.numel());
                }
            } catch (const moin::Error& error) {
                ++rejected;
                QVERIFY(QString(error.what()).contains(flipped));
            }
        }
    }
    QCOMPARE(accepted + rejected, headerEnd * 5);
    QVERIFY(rejected > headerEnd); // most damage is detected
    QVERIFY(accepted > 0);         // e.g. a changed letter in a name or in padding is harmless
}

// ---- writer ----------------------------------------------------------------------------------

void TestSafetensors::writerRejects_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<std::vector<int64_t>>("shape");
    QTest::addColumn<int>("bytes");
    QTest::addColumn<QString>("problem");
    QTest::newRow("too few bytes") << "w" << DType::F32 << std::vector<int64_t>{2, 3} << 20
                                   << "got 20 bytes of data, expected 24 (F32, shape [2, 3]";
    QTest::newRow("too many bytes") << "w" << DType::BF16 << std::vector<int64_t>{} << 4
                                    << "got 4 bytes of data, expected 2";
    QTest::newRow("negative dimension") << "w" << DType::F32 << std::vector<int64_t>{-2} << 0
                                        << "negative dimension";
    QTest::newRow("huge shape") << "w" << DType::F64
                                << std::vector<int64_t>{int64_t(1) << 40, int64_t(1) << 40} << 0
                                << "too large";
    QTest::newRow("duplicate name") << "first" << DType::F32 << std::vector<int64_t>{1} << 4
                                    << "already added";
    QTest::newRow("reserved name") << "__metadata__" << DType::F32 << std::vector<int64_t>{1} << 4
                                   << "reserved";
    QTest::newRow("empty name") << "" << DType::F32 << std::vector<int64_t>{1} << 4
                                << "the name is empty";
    QTest::newRow("null data") << "w" << DType::F32 << std::vector<int64_t>{1} << -4
                               << "data pointer is null";
}

void TestSafetensors::writerRejects()
{
    QFETCH(QString, name);
    QFETCH(DType, dtype);
    QFETCH(std::vector<int64_t>, shape);
    QFETCH(int, bytes);
    QFETCH(QString, problem);
    SafetensorsWriter writer;
    const float first = 1;
    writer.add("first", DType::F32, {1}, &first, sizeof first);
    const std::vector<unsigned char> data(size_t(std::abs(bytes)) + 8);
    const void* pointer = bytes < 0 ? nullptr : data.data();
    const QString message = errorOf(
        [&] { writer.add(str(name), dtype, shape, pointer, size_t(std::abs(bytes))); });
    QVERIFY2(message.contains(problem), qPrintable(message));
    QVERIFY2(message.contains("tensor '" + name + "'"), qPrintable(message));
    QCOMPARE(writer.size(), size_t(1)); // a rejected tensor is not added
}

void TestSafetensors::writerRejectsInvalidMetadata()
{
    SafetensorsWriter writer;
    QVERIFY(!errorOf([&] { writer.setMetadata({{"bad", "\xff\xfe"}}); }).isNull());
    const float value = 1;
    const QString message =
        errorOf([&] { writer.add("bad\xc3", DType::F32, {1}, &value, sizeof value); });
    QVERIFY2(message.contains("not valid UTF-8"), qPrintable(message));
}

void TestSafetensors::atomicWriteReplaces()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("model.safetensors");
    writeReferenceFile(path);
    writeReferenceFile(path, 1000); // over an existing file
    const SafetensorsFile file = SafetensorsFile::open(str(path));
    QVERIFY(file.find("extra"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList{"model.safetensors"});
}

void TestSafetensors::atomicWriteMissingFolder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("no/such/folder/model.safetensors");
    const QString message = errorOf([&] { writeReferenceFile(path); });
    QVERIFY2(message.contains("'" + path + "'") && message.contains("folder does not exist"),
             qPrintable(message));
    QVERIFY(QDir(dir.path()).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot));
}

void TestSafetensors::atomicWriteOverFolder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkpath("model.safetensors/inside"));
    const QString path = dir.filePath("model.safetensors");
    const QString message = errorOf([&] { writeReferenceFile(path); });
    QVERIFY2(message.contains("renaming") && message.contains("was left unchanged"),
             qPrintable(message));
    QVERIFY(QFileInfo(dir.filePath("model.safetensors/inside")).isDir());
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             QStringList{"model.safetensors"}); // the temporary file is gone
}

void TestSafetensors::atomicWriteReadOnlyFolder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("model.safetensors");
    writeReferenceFile(path);
    const QByteArray before = readBytes(path);
    ReadOnlyFolder readOnly(dir.path());
    if (QFile probe(dir.filePath("probe")); probe.open(QIODevice::WriteOnly)) {
        probe.remove();
        QSKIP("neither permissions nor the immutable flag bind this user on this file system "
              "(a tmpfs as root?): the refusal cannot be provoked here");
    }
    const QString message = errorOf([&] { writeReferenceFile(path, 64); });
    QVERIFY2(message.contains("creating the temporary file") && message.contains("not writable"),
             qPrintable(message));
    QCOMPARE(readBytes(path), before);
}

void TestSafetensors::atomicWriteFileTooLarge()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("model.safetensors");
    writeReferenceFile(path);
    const QByteArray before = readBytes(path);
    QVERIFY(before.size() < 4096);
    QString message;
    {
        FileSizeLimit limit(4096);
        QVERIFY(limit.ok());
        message = errorOf([&] { writeReferenceFile(path, 100000); });
    }
    QVERIFY2(message.contains("writing the temporary file") && message.contains("ulimit")
                 && message.contains("'" + path + "' was left unchanged"),
             qPrintable(message));
    QCOMPARE(readBytes(path), before);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList{"model.safetensors"});
    QCOMPARE(SafetensorsFile::open(str(path)).tensors().size(), size_t(3));
}

// ---- checkpoints ----------------------------------------------------------------------------

namespace {

// Shard 1 holds "a" (F32 [2]) and "b" (I64 [1]); shard 2 holds "c" (BF16 [3]).
void writeShards(const QString& folder)
{
    SafetensorsWriter first;
    const float a[2] = {1.0f, 2.0f};
    const int64_t b = 7;
    first.add("a", DType::F32, {2}, a, sizeof a);
    first.add("b", DType::I64, {1}, &b, sizeof b);
    first.write(str(folder + "/model-00001-of-00002.safetensors"));
    SafetensorsWriter second;
    const uint16_t c[3] = {0x3f80, 0x4000, 0xc040};
    second.add("c", DType::BF16, {3}, c, sizeof c);
    second.write(str(folder + "/model-00002-of-00002.safetensors"));
}

const QByteArray kIndex = R"({"metadata": {"total_size": 22}, "weight_map": {
    "a": "model-00001-of-00002.safetensors",
    "b": "model-00001-of-00002.safetensors",
    "c": "model-00002-of-00002.safetensors"}})";

} // namespace

void TestSafetensors::shardedCheckpoint()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeShards(dir.path());
    const QString indexPath = dir.filePath("model.safetensors.index.json");
    QVERIFY(writeBytes(indexPath, kIndex));

    const moin::ShardedIndex index = moin::readShardedIndex(str(indexPath));
    QCOMPARE(index.totalSize, uint64_t(22));
    QCOMPARE(index.weightMap.size(), size_t(3));
    QCOMPARE(index.weightMap.at("c"), std::string("model-00002-of-00002.safetensors"));
    QCOMPARE(index.shardFiles().size(), size_t(2));

    for (const QString& openPath : {dir.path(), indexPath}) {
        const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open(str(openPath));
        QVERIFY(checkpoint.isSharded());
        QCOMPARE(checkpoint.files().size(), size_t(2));
        QCOMPARE(checkpoint.tensorNames(), (std::vector<std::string>{"a", "b", "c"}));
        const moin::CheckpointTensor c = checkpoint.find("c");
        QVERIFY(c);
        QVERIFY(QString::fromStdString(c.file->path())
                    .endsWith("model-00002-of-00002.safetensors"));
        QVERIFY(c.info->dtype == DType::BF16);
        QCOMPARE(c.file->readAsFloat32(*c.info), (std::vector<float>{1.0f, 2.0f, -3.0f}));
        const moin::CheckpointTensor b = checkpoint.find("b");
        QVERIFY(b);
        QVERIFY(QString::fromStdString(b.file->path())
                    .endsWith("model-00001-of-00002.safetensors"));
        int64_t value = 0;
        std::memcpy(&value, b.file->data(*b.info), sizeof value);
        QCOMPARE(value, int64_t(7));
        QVERIFY(!checkpoint.find("d"));
        QVERIFY(checkpoint.find("d").info == nullptr);
    }

    // Moving the checkpoint keeps found pointers valid.
    SafetensorsCheckpoint moved = SafetensorsCheckpoint::open(str(dir.path()));
    const TensorInfo* before = moved.find("a").info;
    const SafetensorsCheckpoint target(std::move(moved));
    QCOMPARE(target.find("a").info, before);
    QCOMPARE(target.find("a").file->readAsFloat32(*before)[1], 2.0f);
}

void TestSafetensors::singleFileCheckpoint()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeReferenceFile(dir.filePath("model.safetensors"));
    const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open(str(dir.path()));
    QVERIFY(!checkpoint.isSharded());
    QCOMPARE(checkpoint.tensorNames(), (std::vector<std::string>{"bias", "step", "weight"}));
    QCOMPARE(checkpoint.find("weight").file, &checkpoint.files().front());

    // With both a single file and an index, the single file wins (as in transformers), even if
    // the index is broken.
    QVERIFY(writeBytes(dir.filePath("model.safetensors.index.json"), "not json"));
    QVERIFY(!SafetensorsCheckpoint::open(str(dir.path())).isSharded());
    // A file path opens just that file.
    const SafetensorsCheckpoint direct =
        SafetensorsCheckpoint::open(str(dir.filePath("model.safetensors")));
    QVERIFY(direct.find("bias"));
}

void TestSafetensors::checkpointErrors_data()
{
    QTest::addColumn<QByteArray>("index"); // written as model.safetensors.index.json if not empty
    QTest::addColumn<bool>("writeShardFiles");
    QTest::addColumn<QString>("extraFile"); // an additional empty file to create
    QTest::addColumn<QString>("problem");

    QTest::newRow("missing shard")
        << QByteArray(kIndex).replace("00002-of-00002", "00003-of-00003") << true << ""
        << "shard 'model-00003-of-00003.safetensors' is missing";
    QTest::newRow("tensor listed twice")
        << QByteArray(kIndex).replace("\"c\": \"model-00002", "\"a\": \"model-00002") << true << ""
        << "duplicate key \"a\"";
    QTest::newRow("tensor not in the named shard")
        << QByteArray(kIndex).replace("\"c\": \"model-00002", "\"c\": \"model-00001") << true << ""
        << "tensor 'c' is listed in shard 'model-00001-of-00002.safetensors', but that shard has "
           "no such tensor";
    QTest::newRow("extra tensor in index")
        << QByteArray(kIndex).replace("\"a\":", "\"zz\": \"model-00002-of-00002.safetensors\", "
                                                "\"a\":")
        << true << "" << "tensor 'zz' is listed in shard";
    QTest::newRow("no weight_map") << QByteArray(R"({"metadata": {}})") << true << ""
                                   << "there is no \"weight_map\"";
    QTest::newRow("empty weight_map") << QByteArray(R"({"weight_map": {}})") << true << ""
                                      << "lists no tensors";
    QTest::newRow("weight_map array") << QByteArray(R"({"weight_map": []})") << true << ""
                                      << "\"weight_map\" must be an object, found array";
    QTest::newRow("shard not a string") << QByteArray(R"({"weight_map": {"a": 1}})") << true << ""
                                        << "tensor 'a': the shard must be a file name string";
    QTest::newRow("shard in another folder")
        << QByteArray(R"({"weight_map": {"a": "../model.safetensors"}})") << true << ""
        << "is not a plain file name";
    QTest::newRow("metadata not an object")
        << QByteArray(R"({"metadata": 3, "weight_map": {"a": "x.safetensors"}})") << true << ""
        << "\"metadata\" must be an object";
    QTest::newRow("index not JSON") << QByteArray("{\"weight_map\": ") << true << ""
                                    << "not valid JSON";
    QTest::newRow("index not UTF-8") << QByteArray("{\"\xff\": 1}") << true << ""
                                     << "not valid UTF-8";
    QTest::newRow("index with NUL") << QByteArray("{\"weight_map\": {\"a\": \"x\"}}\0junk", 31)
                                    << true << "" << "contains a NUL byte";
    QTest::newRow("index is an array") << QByteArray("[]") << true << ""
                                       << "expected a JSON object, found array";
    QTest::newRow("broken shard") << kIndex << false << "model-00001-of-00002.safetensors"
                                  << "shorter than the 8-byte";
    QTest::newRow("empty folder") << QByteArray() << false << ""
                                  << "found neither model.safetensors nor "
                                     "model.safetensors.index.json (hint: choose the folder";
    QTest::newRow("PyTorch folder") << QByteArray() << false << "pytorch_model.bin"
                                    << "holds PyTorch .bin weights";
}

void TestSafetensors::checkpointErrors()
{
    QFETCH(QByteArray, index);
    QFETCH(bool, writeShardFiles);
    QFETCH(QString, extraFile);
    QFETCH(QString, problem);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    if (writeShardFiles)
        writeShards(dir.path());
    if (!extraFile.isEmpty())
        QVERIFY(writeBytes(dir.filePath(extraFile), QByteArray()));
    if (!index.isEmpty())
        QVERIFY(writeBytes(dir.filePath("model.safetensors.index.json"), index));
    const QString message = errorOf([&] { SafetensorsCheckpoint::open(str(dir.path())); });
    QVERIFY2(message.contains(problem), qPrintable(message));
    QVERIFY2(message.contains(dir.path()), qPrintable(message));
    QVERIFY2(message.contains("(hint: "), qPrintable(message));
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
