#include "importdialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace moin::ui {

namespace {
constexpr auto kTextFieldKey = "corpus/import/textField";
constexpr auto kChunkTokensKey = "corpus/import/chunkTokens";
constexpr auto kOverlapTokensKey = "corpus/import/overlapTokens";
constexpr auto kMinChunkTokensKey = "corpus/import/minChunkTokens";
constexpr int kMinChunkTokens = 8;
constexpr int kMaxChunkTokens = 65536;

QString describePaths(const QStringList& paths)
{
    QStringList names;
    int folders = 0;
    for (const QString& path : paths) {
        const QFileInfo info(path);
        folders += info.isDir() ? 1 : 0;
        names << (info.fileName().isEmpty() ? QDir::toNativeSeparators(path) : info.fileName());
    }
    constexpr int kShown = 4;
    QString list = QStringList(names.mid(0, kShown)).join(QStringLiteral(", "));
    if (names.size() > kShown)
        list += ImportDialog::tr(" and %L1 more").arg(names.size() - kShown);
    if (paths.size() == 1 && folders == 1) {
        return ImportDialog::tr("Import the .jsonl, .txt and .md files of the folder <b>%1</b> "
                                "and its subfolders.")
            .arg(list.toHtmlEscaped());
    }
    if (paths.size() == 1)
        return ImportDialog::tr("Import <b>%1</b>.").arg(list.toHtmlEscaped());
    return ImportDialog::tr("Import %L1 items: <b>%2</b>.")
        .arg(paths.size())
        .arg(list.toHtmlEscaped());
}
} // namespace

ImportDialog::ImportDialog(const QStringList& paths, QWidget* parent)
    : QDialog(parent), m_paths(paths)
{
    setWindowTitle(tr("Import into the corpus"));
    setObjectName("importDialog");

    auto* intro = new QLabel(describePaths(paths));
    intro->setWordWrap(true);
    intro->setTextFormat(Qt::RichText);
    auto* explain = new QLabel(
        tr("Each document is cut into chunks of tokens of the workspace's tokenizer; a file "
           "imported before is skipped, and chunks whose exact text the corpus already has are "
           "dropped."));
    explain->setWordWrap(true);
    QPalette muted = explain->palette();
    const QColor ink = muted.color(QPalette::WindowText);
    const QColor paper = muted.color(QPalette::Window);
    const auto mix = [](int a, int b) { return (a * 60 + b * 40) / 100; };
    muted.setColor(QPalette::WindowText,
                   QColor(mix(ink.red(), paper.red()), mix(ink.green(), paper.green()),
                          mix(ink.blue(), paper.blue())));
    explain->setPalette(muted);

    m_textField = new QLineEdit;
    m_textField->setObjectName("textField");
    m_textField->setToolTip(
        tr("The field of each JSON object (one object per line of a .jsonl file) that holds the "
           "document's text. Lines without it are skipped and listed in the report. Not used "
           "for .txt and .md files."));

    m_chunkTokens = new QSpinBox;
    m_chunkTokens->setObjectName("chunkTokens");
    m_chunkTokens->setRange(kMinChunkTokens, kMaxChunkTokens);
    m_chunkTokens->setSuffix(tr(" tokens"));
    m_chunkTokens->setAccelerated(true);
    m_chunkTokens->setToolTip(
        tr("How many tokens each chunk holds (%1 to %2). Chunks are what gets embedded, "
           "grouped by topic and trained on; keep them within the base model's context length.")
            .arg(kMinChunkTokens)
            .arg(QLocale().toString(kMaxChunkTokens)));

    m_overlapTokens = new QSpinBox;
    m_overlapTokens->setObjectName("overlapTokens");
    m_overlapTokens->setSuffix(tr(" tokens"));
    m_overlapTokens->setToolTip(
        tr("How many tokens consecutive chunks of one document share, so that a sentence cut at "
           "a chunk boundary still appears whole in one of them. 0 for none; less than the "
           "chunk size."));

    m_minChunkTokens = new QSpinBox;
    m_minChunkTokens->setObjectName("minChunkTokens");
    m_minChunkTokens->setSuffix(tr(" tokens"));
    m_minChunkTokens->setToolTip(
        tr("A document's last chunk is dropped when it is shorter than this: a few words say "
           "little about a topic. At most the chunk size."));

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    form->addRow(tr("JSON Lines &text field:"), m_textField);
    form->addRow(tr("&Chunk size:"), m_chunkTokens);
    form->addRow(tr("&Overlap:"), m_overlapTokens);
    form->addRow(tr("&Shortest chunk kept:"), m_minChunkTokens);
    m_textField->setMinimumWidth(m_chunkTokens->sizeHint().width() * 2);

    m_error = new QLabel;
    m_error->setObjectName("importDialogError");
    m_error->setWordWrap(true);
    QPalette errorPalette = m_error->palette();
    errorPalette.setColor(QPalette::WindowText, QColor(0xb0, 0x1c, 0x1c));
    m_error->setPalette(errorPalette);
    m_error->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Import"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ImportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ImportDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(explain);
    layout->addSpacing(8);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addSpacing(8);
    layout->addWidget(buttons);
    setMinimumWidth(460);

    connect(m_chunkTokens, qOverload<int>(&QSpinBox::valueChanged), this,
            &ImportDialog::updateLimits);
    setOptions(lastOptions());
}

ImportOptions ImportDialog::options() const
{
    ImportOptions options;
    options.textField = m_textField->text().trimmed().toStdString();
    options.chunkTokens = m_chunkTokens->value();
    options.overlapTokens = m_overlapTokens->value();
    options.minChunkTokens = m_minChunkTokens->value();
    return options;
}

void ImportDialog::setOptions(const ImportOptions& options)
{
    m_textField->setText(QString::fromStdString(options.textField));
    m_chunkTokens->setValue(options.chunkTokens);
    updateLimits();
    m_overlapTokens->setValue(options.overlapTokens);
    m_minChunkTokens->setValue(options.minChunkTokens);
}

ImportOptions ImportDialog::lastOptions()
{
    const ImportOptions defaults;
    QSettings settings;
    ImportOptions options;
    options.textField =
        settings.value(kTextFieldKey, QString::fromStdString(defaults.textField))
            .toString()
            .toStdString();
    options.chunkTokens = std::clamp(settings.value(kChunkTokensKey, defaults.chunkTokens).toInt(),
                                     kMinChunkTokens, kMaxChunkTokens);
    options.overlapTokens =
        std::clamp(settings.value(kOverlapTokensKey, defaults.overlapTokens).toInt(), 0,
                   options.chunkTokens - 1);
    options.minChunkTokens =
        std::clamp(settings.value(kMinChunkTokensKey, defaults.minChunkTokens).toInt(), 1,
                   options.chunkTokens);
    if (options.textField.empty())
        options.textField = defaults.textField;
    return options;
}

void ImportDialog::accept()
{
    const ImportOptions chosen = options();
    try {
        chosen.validate();
    } catch (const std::exception& e) {
        m_error->setText(
            tr("Cannot import with these options: %1.").arg(QString::fromUtf8(e.what())));
        m_error->show();
        return;
    }
    QSettings settings;
    settings.setValue(kTextFieldKey, QString::fromStdString(chosen.textField));
    settings.setValue(kChunkTokensKey, chosen.chunkTokens);
    settings.setValue(kOverlapTokensKey, chosen.overlapTokens);
    settings.setValue(kMinChunkTokensKey, chosen.minChunkTokens);
    QDialog::accept();
}

void ImportDialog::updateLimits()
{
    // The overlap stays below the chunk size and the shortest chunk at most the chunk size;
    // QSpinBox clamps the current values to the new ranges.
    const int chunk = m_chunkTokens->value();
    m_overlapTokens->setRange(0, chunk - 1);
    m_minChunkTokens->setRange(1, chunk);
}

} // namespace moin::ui
