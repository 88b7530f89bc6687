#include "settingsdialog.h"
#include "widgetstyle.h"

#include "moin/device.h"
#include "moin/ui/appsettings.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>
#include <vector>

namespace moin::ui {

namespace {
QFormLayout* addGroup(QVBoxLayout* layout, const QString& title)
{
    auto* box = new QGroupBox(title);
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
    layout->addWidget(box);
    return form;
}

/// A note under a group's fields, in a quieter colour, wrapped.
void addNote(QFormLayout* form, const QString& text)
{
    QLabel* note = mutedLabel(text);
    note->setWordWrap(true);
    form->addRow(QString(), note);
}
} // namespace

SettingsDialog::SettingsDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Settings"));
    setObjectName("settingsDialog");
    auto* layout = new QVBoxLayout(this);
    const int cores = std::max(1, QThread::idealThreadCount());

    QFormLayout* compute = addGroup(layout, tr("Computation"));
    m_device = new QComboBox;
    std::vector<ComputeDevice> devices;
    try {
        devices = availableDevices();
    } catch (const std::exception&) {
        devices = {{"cpu", "CPU"}}; // LibTorch could not ask the driver: the CPU always works
    }
    QString automatic = AppSettings::deviceLabel(QStringLiteral("cpu"));
    for (const ComputeDevice& device : devices) {
        if (device.id != "cpu") {
            automatic = AppSettings::deviceLabel(QString::fromStdString(device.id));
            break;
        }
    }
    m_device->addItem(tr("Automatic (%1)").arg(automatic), QStringLiteral("auto"));
    for (const ComputeDevice& device : devices) {
        const QString id = QString::fromStdString(device.id);
        m_device->addItem(AppSettings::deviceLabel(id), id);
    }
    QList<QLabel*> captions;
    captions << addFormRow(compute, tr("&Device:"), m_device, "device",
           tr("Where the chat generates and the training workers train. Automatic uses the "
              "first CUDA GPU for the chat and spreads the workers over every GPU; without a "
              "GPU (or with a LibTorch built without CUDA) everything runs on the CPU."));
    m_threads = new QSpinBox;
    m_threads->setRange(0, cores);
    m_threads->setSpecialValueText(tr("Automatic"));
    captions << addFormRow(compute, tr("&Threads:"), m_threads, "threads",
           tr("CPU threads the chat's model uses. Automatic lets LibTorch choose (one per "
              "core); this computer has %1 cores.")
               .arg(cores));

    QFormLayout* training = addGroup(layout, tr("Training"));
    m_workers = new QSpinBox;
    m_workers->setRange(1, 64);
    captions << addFormRow(training, tr("&Workers at once:"), m_workers, "workers",
           tr("Training processes run at the same time, one expert each. One per GPU is a "
              "good start; on a CPU, more workers share the same cores. The Train experts form "
              "and the Experts & training view use this value too."));
    m_threadsPerWorker = new QSpinBox;
    m_threadsPerWorker->setRange(0, cores);
    m_threadsPerWorker->setSpecialValueText(tr("Automatic"));
    captions << addFormRow(training, tr("Threads &per worker:"), m_threadsPerWorker, "threadsPerWorker",
           tr("CPU threads of each training process. Automatic divides the cores between the "
              "workers."));

    QFormLayout* chat = addGroup(layout, tr("Chat"));
    m_adapterCache = new QSpinBox;
    m_adapterCache->setRange(16, 1024 * 1024);
    m_adapterCache->setSingleStep(64);
    m_adapterCache->setSuffix(tr(" MiB"));
    captions << addFormRow(chat, tr("&Adapter cache:"), m_adapterCache, "adapterCache",
           tr("Memory for experts kept loaded between questions; the least recently used one "
              "is dropped when a new one does not fit. Default: %1 MiB.")
               .arg(AppSettings::defaultAdapterCacheMiB()));
    addNote(chat, tr("The chat uses the device, threads and cache when its model loads: at "
                     "once if no answer is running, else the next time it loads."));

    QFormLayout* interfaceForm = addGroup(layout, tr("Interface"));
    m_language = new QComboBox;
    m_language->addItem(tr("System language"), QString());
    for (const QString& language : AppSettings::availableLanguages())
        m_language->addItem(AppSettings::languageName(language), language);
    captions << addFormRow(interfaceForm, tr("&Language:"), m_language, "language",
           tr("Language of menus, views and messages. System language follows the "
              "desktop's setting, and English where there is no translation."));
    addNote(interfaceForm, tr("A new language is shown when MoIN Studio starts again."));

    // One label column through all groups, so the fields line up.
    int captionWidth = 0;
    for (QLabel* caption : captions)
        captionWidth = std::max(captionWidth, caption->sizeHint().width());
    for (QLabel* caption : captions) {
        caption->setMinimumWidth(captionWidth);
        caption->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }

    layout->addStretch(1);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel
                                     | QDialogButtonBox::RestoreDefaults);
    QPushButton* restore = m_buttons->button(QDialogButtonBox::RestoreDefaults);
    restore->setObjectName("restoreDefaults");
    restore->setToolTip(tr("Put every field back to its default; OK stores them."));
    connect(restore, &QPushButton::clicked, this, &SettingsDialog::restoreDefaults);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    layout->addWidget(m_buttons);

    load();
    resize(std::max(sizeHint().width(), 560), sizeHint().height());
}

void SettingsDialog::selectDevice(const QString& device)
{
    int index = m_device->findData(device);
    if (index < 0) {
        // Chosen on another machine or with another GPU: keep it rather than lose it silently.
        m_device->addItem(tr("%1 (not available here)").arg(AppSettings::deviceLabel(device)), device);
        index = m_device->count() - 1;
    }
    m_device->setCurrentIndex(index);
}

void SettingsDialog::load()
{
    selectDevice(AppSettings::device());
    m_threads->setValue(AppSettings::threads());
    m_workers->setValue(AppSettings::trainingWorkers());
    m_threadsPerWorker->setValue(AppSettings::threadsPerWorker());
    m_adapterCache->setValue(AppSettings::adapterCacheMiB());
    const int language = m_language->findData(AppSettings::language());
    m_language->setCurrentIndex(std::max(0, language));
}

void SettingsDialog::restoreDefaults()
{
    selectDevice(QStringLiteral("auto"));
    m_threads->setValue(0);
    m_workers->setValue(1);
    m_threadsPerWorker->setValue(0);
    m_adapterCache->setValue(AppSettings::defaultAdapterCacheMiB());
    m_language->setCurrentIndex(0);
}

SettingsDialog::Changes SettingsDialog::save()
{
    Changes changes = NoChange;
    const QString device = m_device->currentData().toString();
    if (device != AppSettings::device())
        changes |= ServingChanged | TrainingChanged;
    if (m_threads->value() != AppSettings::threads()
        || m_adapterCache->value() != AppSettings::adapterCacheMiB())
        changes |= ServingChanged;
    if (m_workers->value() != AppSettings::trainingWorkers()
        || m_threadsPerWorker->value() != AppSettings::threadsPerWorker())
        changes |= TrainingChanged;
    const QString language = m_language->currentData().toString();
    if (language != AppSettings::language())
        changes |= LanguageChanged;

    AppSettings::setDevice(device);
    AppSettings::setThreads(m_threads->value());
    AppSettings::setTrainingWorkers(m_workers->value());
    AppSettings::setThreadsPerWorker(m_threadsPerWorker->value());
    AppSettings::setAdapterCacheMiB(m_adapterCache->value());
    AppSettings::setLanguage(language);
    return changes;
}

void SettingsDialog::accept()
{
    m_changes = save();
    QDialog::accept();
}

} // namespace moin::ui
