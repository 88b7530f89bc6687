#include "trainingform.h"
#include "widgetstyle.h"

#include "moin/device.h"
#include "moin/ui/appsettings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>
#include <cmath>

namespace moin::ui {

namespace {
constexpr auto kSpecKey = "training/form/spec";
constexpr auto kStartNowKey = "training/form/startNow";
constexpr auto kScopeKey = "training/form/scope";
constexpr auto kBackendKey = "training/backend";
constexpr auto kSlurmKey = "training/slurm/";
const char* const kModuleNames[] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                    "gate_proj", "up_proj", "down_proj"};

QString presetTitle(const std::string& name)
{
    if (name == "quick")
        return TrainingForm::tr("Quick — a demo in minutes on a CPU");
    if (name == "standard")
        return TrainingForm::tr("Standard — good experts on a GPU");
    if (name == "thorough")
        return TrainingForm::tr("Thorough — longer training, larger adapters");
    return QString::fromStdString(name);
}

/// A spec with the fields no preset sets cleared, to tell whether the form matches one.
std::string comparable(TrainingSpec spec)
{
    spec.runId = 0;
    spec.cluster = 0;
    spec.baseModel.clear();
    spec.device = "auto";
    spec.seed = 1;
    return spec.toJson();
}

/// Adds "label: field" to `form`, with the same tooltip on both.
void addRow(QFormLayout* form, const QString& label, QWidget* field, const char* objectName,
            const QString& tip)
{
    field->setObjectName(QLatin1String(objectName));
    field->setToolTip(tip);
    auto* caption = new QLabel(label);
    caption->setToolTip(tip);
    caption->setBuddy(field);
    form->addRow(caption, field);
}

QFormLayout* formLayout(QGroupBox* box)
{
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
    form->setHorizontalSpacing(10);
    form->setVerticalSpacing(6);
    return form;
}
} // namespace

/// A spin box for small positive numbers such as learning rates: shows them as 3e-4, and its
/// arrows step through 1, 2, 5, 10, 20, ... times a power of ten.
class ScientificSpinBox : public QDoubleSpinBox {
public:
    explicit ScientificSpinBox(double minimum, double maximum, QWidget* parent = nullptr)
        : QDoubleSpinBox(parent)
    {
        setDecimals(12); // the value is kept as typed; textFromValue shows it short
        setRange(minimum, maximum);
    }

    QString textFromValue(double value) const override
    {
        return value == 0 ? QStringLiteral("0") : QLocale().toString(value, 'g', 4);
    }

    double valueFromText(const QString& text) const override
    {
        bool ok = false;
        const QString t = text.trimmed();
        double value = QLocale().toDouble(t, &ok);
        if (!ok)
            value = t.toDouble(&ok);
        return ok ? value : this->value();
    }

    QValidator::State validate(QString& text, int&) const override
    {
        const QString t = text.trimmed();
        if (t.isEmpty())
            return QValidator::Intermediate;
        bool ok = false;
        double value = QLocale().toDouble(t, &ok);
        if (!ok)
            value = t.toDouble(&ok);
        if (ok)
            return value >= minimum() && value <= maximum() ? QValidator::Acceptable
                                                            : QValidator::Intermediate;
        static const QRegularExpression partial(
            QStringLiteral("^[0-9]*[.,]?[0-9]*([eE][-+]?[0-9]*)?$"));
        return partial.match(t).hasMatch() ? QValidator::Intermediate : QValidator::Invalid;
    }

    void stepBy(int steps) override
    {
        static const double kMantissas[] = {1, 2, 5};
        double value = this->value();
        if (value <= 0) {
            if (steps > 0)
                setValue(std::max(minimum(), 1e-6));
            return;
        }
        const double exponent = std::floor(std::log10(value));
        const double mantissa = value / std::pow(10.0, exponent);
        const int index = mantissa >= 5 - 1e-9 ? 2 : mantissa >= 2 - 1e-9 ? 1 : 0;
        const bool exact = std::abs(mantissa - kMantissas[index]) < 1e-6;
        long position = long(exponent) * 3 + index + steps + (steps < 0 && !exact ? 1 : 0);
        const long power = position >= 0 ? position / 3 : -((-position + 2) / 3);
        const int slot = int(position - power * 3);
        setValue(std::clamp(kMantissas[slot] * std::pow(10.0, double(power)), minimum(),
                            maximum()));
    }
};

TrainingForm::TrainingForm(qint64 runId, std::vector<ClusterChoice> clusters,
                           std::vector<int> selected, QWidget* parent)
    : QDialog(parent), m_runId(runId), m_clusters(std::move(clusters)),
      m_selected(std::move(selected))
{
    setObjectName("trainingForm");
    setWindowTitle(tr("Train experts"));

    auto* intro = new QLabel(
        tr("Each expert is a LoRA adapter trained on one cluster while the base model stays "
           "frozen. Start from a preset; hover any field to see what it does."));
    intro->setWordWrap(true);

    m_preset = new QComboBox;
    for (const std::string& name : TrainingSpec::presetNames())
        m_preset->addItem(presetTitle(name), QString::fromStdString(name));
    m_preset->addItem(tr("Custom"), QString());
    const QString presetTip =
        tr("Fills every field below with tested settings. Quick trains small adapters in a "
           "minute or two each on a CPU; Standard and Thorough train longer, with larger "
           "adapters and batches. Changing a field makes the settings Custom.");
    auto* presetRow = new QHBoxLayout;
    auto* presetLabel = new QLabel(tr("Preset:"));
    presetLabel->setToolTip(presetTip);
    presetLabel->setBuddy(m_preset);
    m_preset->setObjectName("preset");
    m_preset->setToolTip(presetTip);
    presetRow->addWidget(presetLabel);
    presetRow->addWidget(m_preset, 1);
    connect(m_preset, &QComboBox::activated, this, [this](int index) {
        const QString name = m_preset->itemData(index).toString();
        if (!name.isEmpty())
            applyPreset(name);
    });

    auto* left = new QVBoxLayout;
    left->addWidget(buildScope());
    left->addWidget(buildAdapter());
    left->addWidget(buildBatches());
    left->addWidget(buildEvaluation());
    left->addStretch();
    auto* right = new QVBoxLayout;
    right->addWidget(buildOptimizer());
    right->addWidget(buildLength());
    right->addWidget(buildRun());
    right->addStretch();
    auto* columns = new QHBoxLayout;
    columns->setSpacing(14);
    columns->addLayout(left, 1);
    columns->addLayout(right, 1);

    m_message = new QLabel;
    m_message->setObjectName("trainingFormMessage");
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message->setMinimumHeight(fontMetrics().height() * 2 + 4);
    m_message->setAlignment(Qt::AlignLeft | Qt::AlignTop);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setObjectName("trainingFormOk");
    connect(m_buttons, &QDialogButtonBox::accepted, this, &TrainingForm::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &TrainingForm::reject);

    auto* layout = new QVBoxLayout(this);
    layout->setSpacing(10);
    layout->addWidget(intro);
    layout->addLayout(presetRow);
    layout->addLayout(columns);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);

    // Every edit re-checks the settings.
    for (QSpinBox* box : findChildren<QSpinBox*>())
        connect(box, &QSpinBox::valueChanged, this, &TrainingForm::onEdited);
    for (QDoubleSpinBox* box : findChildren<QDoubleSpinBox*>())
        connect(box, &QDoubleSpinBox::valueChanged, this, &TrainingForm::onEdited);
    for (QCheckBox* box : findChildren<QCheckBox*>())
        connect(box, &QCheckBox::toggled, this, &TrainingForm::onEdited);
    for (QRadioButton* button : findChildren<QRadioButton*>())
        connect(button, &QRadioButton::toggled, this, &TrainingForm::onEdited);
    connect(m_device, &QComboBox::currentIndexChanged, this, &TrainingForm::onEdited);

    setSpec(lastSpec());
    setWorkers(lastWorkers());
    setBackend(lastBackend());
    setSlurmOptions(lastSlurmOptions());
    QSettings settings;
    m_startNow->setChecked(settings.value(kStartNowKey, true).toBool());
    const int scope = settings.value(kScopeKey, int(Scope::Untrained)).toInt();
    setScope(!m_selected.empty() ? Scope::Selected
             : scope == int(Scope::All) ? Scope::All
                                        : Scope::Untrained);
    onEdited();
}

QGroupBox* TrainingForm::buildScope()
{
    auto* box = new QGroupBox(tr("Experts to train"));
    int untrained = 0;
    for (const ClusterChoice& c : m_clusters)
        untrained += c.trained ? 0 : 1;
    m_scopeUntrained = new QRadioButton(
        tr("Clusters without an expert (%L1)").arg(untrained));
    m_scopeUntrained->setObjectName("scopeUntrained");
    m_scopeUntrained->setToolTip(tr("Train an expert for every cluster that has none yet"));
    m_scopeAll = new QRadioButton(tr("Every cluster (%L1)").arg(m_clusters.size()));
    m_scopeAll->setObjectName("scopeAll");
    m_scopeAll->setToolTip(tr("Train every cluster's expert, replacing finished experts when "
                              "their new jobs are done"));
    m_scopeSelected =
        new QRadioButton(tr("Clusters selected in the table (%L1)").arg(m_selected.size()));
    m_scopeSelected->setObjectName("scopeSelected");
    m_scopeSelected->setToolTip(tr("Train the clusters whose rows are selected in the table"));
    m_scopeSelected->setEnabled(!m_selected.empty());
    m_scopeSummary = mutedLabel();
    m_scopeSummary->setObjectName("scopeSummary");
    m_scopeSummary->setWordWrap(true);
    auto* layout = new QVBoxLayout(box);
    layout->setSpacing(4);
    layout->addWidget(m_scopeUntrained);
    layout->addWidget(m_scopeAll);
    layout->addWidget(m_scopeSelected);
    layout->addWidget(m_scopeSummary);
    return box;
}

QGroupBox* TrainingForm::buildAdapter()
{
    auto* box = new QGroupBox(tr("LoRA adapter"));
    auto* form = formLayout(box);
    m_rank = new QSpinBox;
    m_rank->setRange(1, 4096);
    addRow(form, tr("Rank:"), m_rank, "rank",
           tr("Rank r of the low-rank update B·A added to each target projection. Higher ranks "
              "can learn more but train slower and make larger files (typical: 8–64)."));
    m_alpha = new QDoubleSpinBox;
    m_alpha->setRange(0.01, 100000);
    m_alpha->setDecimals(2);
    addRow(form, tr("Alpha:"), m_alpha, "alpha",
           tr("Scale of the update: the adapter adds (alpha / rank) · B·A·x. Usually twice the "
              "rank."));
    m_dropout = new QDoubleSpinBox;
    m_dropout->setRange(0, 0.95);
    m_dropout->setDecimals(2);
    m_dropout->setSingleStep(0.05);
    addRow(form, tr("Dropout:"), m_dropout, "dropout",
           tr("Fraction of the adapter's inputs zeroed at random during training, against "
              "over-fitting small clusters; 0 turns it off."));

    auto* modules = new QWidget;
    auto* grid = new QGridLayout(modules);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(10);
    grid->setVerticalSpacing(6);
    const QString moduleTip =
        tr("The projections of every decoder layer that get an adapter: attention query, key, "
           "value and output (q, k, v, o) and the MLP's gate, up and down projections. More "
           "modules learn more, at more memory and time.");
    int i = 0;
    for (const char* name : kModuleNames) {
        auto* check = new QCheckBox(QString::fromLatin1(name));
        check->setObjectName(QStringLiteral("module_%1").arg(QLatin1String(name)));
        check->setToolTip(moduleTip);
        grid->addWidget(check, i / 4, i % 4);
        m_modules.push_back(check);
        ++i;
    }
    modules->setToolTip(moduleTip);
    auto* modulesLabel = new QLabel(tr("Target modules:"));
    modulesLabel->setToolTip(moduleTip);
    form->addRow(modulesLabel, modules);
    m_rslora = new QCheckBox(tr("Rank-stabilised scaling (rsLoRA)"));
    m_rslora->setObjectName("rslora");
    m_rslora->setToolTip(tr("Scale the update by alpha / √rank instead of alpha / rank, which "
                            "keeps high ranks learning as fast as low ones."));
    form->addRow(QString(), m_rslora);
    return box;
}

QGroupBox* TrainingForm::buildOptimizer()
{
    auto* box = new QGroupBox(tr("Optimizer (AdamW)"));
    auto* form = formLayout(box);
    m_learningRate = new ScientificSpinBox(1e-8, 10);
    addRow(form, tr("Learning rate:"), m_learningRate, "learningRate",
           tr("Peak learning rate, reached at the end of the warm-up and then lowered along a "
              "cosine to the minimum. LoRA tolerates higher rates than full fine-tuning "
              "(typical: 1e-4 to 3e-3). Type a number such as 3e-4; the arrows step 1, 2, 5."));
    m_minLearningRate = new ScientificSpinBox(0, 10);
    addRow(form, tr("Minimum learning rate:"), m_minLearningRate, "minLearningRate",
           tr("Learning rate at the last step, where the cosine decay ends; at most the peak "
              "rate (often a tenth of it)."));
    m_weightDecay = new QDoubleSpinBox;
    m_weightDecay->setRange(0, 10);
    m_weightDecay->setDecimals(4);
    m_weightDecay->setSingleStep(0.01);
    addRow(form, tr("Weight decay:"), m_weightDecay, "weightDecay",
           tr("AdamW's decoupled weight decay on the adapter's weights; 0 turns it off."));
    m_beta1 = new QDoubleSpinBox;
    m_beta1->setRange(0, 0.9999);
    m_beta1->setDecimals(4);
    m_beta1->setSingleStep(0.01);
    addRow(form, tr("Beta 1:"), m_beta1, "beta1",
           tr("Decay of AdamW's running mean of the gradients (momentum); default 0.9."));
    m_beta2 = new QDoubleSpinBox;
    m_beta2->setRange(0, 0.9999);
    m_beta2->setDecimals(4);
    m_beta2->setSingleStep(0.001);
    addRow(form, tr("Beta 2:"), m_beta2, "beta2",
           tr("Decay of AdamW's running mean of the squared gradients; default 0.999."));
    m_warmup = new QSpinBox;
    m_warmup->setRange(0, 10'000'000);
    m_warmup->setSuffix(tr(" steps"));
    addRow(form, tr("Warm-up:"), m_warmup, "warmupSteps",
           tr("Optimizer steps over which the learning rate rises linearly from 0 to its peak, "
              "which keeps the first updates of a fresh adapter small."));
    m_gradientClip = new QDoubleSpinBox;
    m_gradientClip->setRange(0, 1000);
    m_gradientClip->setDecimals(2);
    m_gradientClip->setSingleStep(0.1);
    m_gradientClip->setSpecialValueText(tr("off"));
    addRow(form, tr("Gradient clip:"), m_gradientClip, "gradientClip",
           tr("Largest norm of the gradient of all adapter weights; a larger gradient is "
              "scaled down to it. 0 turns clipping off."));
    return box;
}

QGroupBox* TrainingForm::buildBatches()
{
    auto* box = new QGroupBox(tr("Batches"));
    auto* form = formLayout(box);
    m_batchSize = new QSpinBox;
    m_batchSize->setRange(1, 4096);
    m_batchSize->setSuffix(tr(" sequences"));
    addRow(form, tr("Batch size:"), m_batchSize, "batchSize",
           tr("Sequences in each micro-batch, processed together in one forward and backward "
              "pass. Larger batches use more memory."));
    m_sequenceLength = new QSpinBox;
    m_sequenceLength->setRange(8, 65536);
    m_sequenceLength->setSuffix(tr(" tokens"));
    addRow(form, tr("Sequence length:"), m_sequenceLength, "sequenceLength",
           tr("Tokens in each training sequence, cut from the cluster's chunks; at most the "
              "base model's context length."));
    m_accumulation = new QSpinBox;
    m_accumulation->setRange(1, 1024);
    m_accumulation->setSuffix(tr(" micro-batches"));
    addRow(form, tr("Gradient accumulation:"), m_accumulation, "gradientAccumulation",
           tr("Micro-batches whose gradients are summed before each optimizer step: a larger "
              "effective batch without more memory."));
    m_tokensPerStep = mutedLabel();
    m_tokensPerStep->setObjectName("tokensPerStep");
    m_tokensPerStep->setToolTip(tr("Batch size × sequence length × gradient accumulation"));
    form->addRow(QString(), m_tokensPerStep);
    return box;
}

QGroupBox* TrainingForm::buildLength()
{
    auto* box = new QGroupBox(tr("Length"));
    auto* form = formLayout(box);
    m_bySteps = new QRadioButton(tr("Steps:"));
    m_bySteps->setObjectName("lengthBySteps");
    m_byTokens = new QRadioButton(tr("Token budget:"));
    m_byTokens->setObjectName("lengthByTokens");
    m_steps = new QSpinBox;
    m_steps->setObjectName("steps");
    m_steps->setRange(1, 10'000'000);
    m_steps->setGroupSeparatorShown(true);
    m_tokenBudget = new QDoubleSpinBox;
    m_tokenBudget->setObjectName("tokenBudget");
    m_tokenBudget->setDecimals(0);
    m_tokenBudget->setRange(1, 1e13);
    m_tokenBudget->setSingleStep(100'000);
    m_tokenBudget->setGroupSeparatorShown(true);
    m_tokenBudget->setSuffix(tr(" tokens"));
    const QString stepsTip = tr("Train for this many optimizer steps.");
    const QString tokensTip =
        tr("Train until this many training tokens are consumed: the steps are the budget "
           "divided by the tokens per step, rounded up.");
    m_bySteps->setToolTip(stepsTip);
    m_steps->setToolTip(stepsTip);
    m_byTokens->setToolTip(tokensTip);
    m_tokenBudget->setToolTip(tokensTip);
    form->addRow(m_bySteps, m_steps);
    form->addRow(m_byTokens, m_tokenBudget);
    connect(m_bySteps, &QRadioButton::toggled, this, [this](bool steps) {
        m_steps->setEnabled(steps);
        m_tokenBudget->setEnabled(!steps);
    });
    m_totalSteps = mutedLabel();
    m_totalSteps->setObjectName("totalSteps");
    m_totalSteps->setToolTip(tr("What each job will run"));
    form->addRow(QString(), m_totalSteps);
    return box;
}

QGroupBox* TrainingForm::buildEvaluation()
{
    auto* box = new QGroupBox(tr("Evaluation and checkpoints"));
    auto* form = formLayout(box);
    m_heldOut = new QDoubleSpinBox;
    m_heldOut->setRange(0.01, 0.49);
    m_heldOut->setDecimals(2);
    m_heldOut->setSingleStep(0.01);
    addRow(form, tr("Held-out fraction:"), m_heldOut, "heldOutFraction",
           tr("Share of the cluster's chunks kept out of training to measure the held-out loss "
              "and the perplexities of base and expert (chosen by chunk id, so the same chunks "
              "on every run). At least one chunk is held out."));
    m_evalEvery = new QSpinBox;
    m_evalEvery->setRange(1, 10'000'000);
    m_evalEvery->setSuffix(tr(" steps"));
    addRow(form, tr("Evaluate every:"), m_evalEvery, "evalEvery",
           tr("Steps between measurements of the held-out loss (the markers on the loss "
              "curves). Evaluating often costs time."));
    m_checkpointEvery = new QSpinBox;
    m_checkpointEvery->setRange(1, 10'000'000);
    m_checkpointEvery->setSuffix(tr(" steps"));
    addRow(form, tr("Checkpoint every:"), m_checkpointEvery, "checkpointEvery",
           tr("Steps between saved checkpoints; a paused, stopped or crashed job resumes from "
              "its last checkpoint."));
    return box;
}

QGroupBox* TrainingForm::buildRun()
{
    auto* box = new QGroupBox(tr("Run"));
    auto* form = formLayout(box);
    m_seed = new QSpinBox;
    m_seed->setRange(0, INT_MAX);
    addRow(form, tr("Seed:"), m_seed, "seed",
           tr("Seed of the adapter's initial weights, the dropout and the order of the "
              "sequences: the same seed and settings train the same expert."));
    m_device = new QComboBox;
    m_device->addItem(tr("Automatic"), QStringLiteral("auto"));
    try {
        for (const ComputeDevice& device : availableDevices())
            m_device->addItem(AppSettings::deviceLabel(QString::fromStdString(device.id)),
                              QString::fromStdString(device.id));
    } catch (const std::exception&) {
        m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    }
    addRow(form, tr("Device:"), m_device, "device",
           tr("Where the jobs train. Automatic spreads the workers over the GPUs, or uses the "
              "CPU when there is none."));
    addBackendRows(form);
    m_priority = new QSpinBox;
    m_priority->setRange(-1000, 1000);
    addRow(form, tr("Priority:"), m_priority, "priority",
           tr("Jobs of higher priority start first; equal priorities start in the order they "
              "were added."));
    m_runForm = form;
    updateBackendRows();
    m_startNow = new QCheckBox(tr("Start training when the jobs are added"));
    m_startNow->setObjectName("startNow");
    m_startNow->setToolTip(tr("Start the coordinator right away (the same as pressing Start "
                              "training)."));
    form->addRow(QString(), m_startNow);
    return box;
}

void TrainingForm::addBackendRows(QFormLayout* form)
{
    m_backend = new QComboBox;
    m_backend->addItem(tr("This computer"), QStringLiteral("local"));
    m_backend->addItem(tr("Slurm cluster"), QStringLiteral("slurm"));
    addRow(form, tr("Run on:"), m_backend, "backend",
           tr("This computer runs the jobs as processes here. Slurm cluster submits them as one "
              "job array with sbatch; the workspace folder and MoIN Studio must be at the same "
              "path on the cluster's nodes (a shared file system)."));
    m_workers = new QSpinBox;
    m_workers->setRange(1, 64);
    addRow(form, tr("Workers at once:"), m_workers, "workers",
           tr("Training processes the coordinator runs at the same time; the CPU's cores are "
              "divided between them. One per GPU is a good start."));
    auto lineEdit = [](const QString& placeholder) {
        auto* edit = new QLineEdit;
        edit->setPlaceholderText(placeholder);
        return edit;
    };
    m_partition = lineEdit(tr("the cluster's default"));
    addRow(form, tr("Partition:"), m_partition, "slurmPartition",
           tr("The Slurm partition (queue) the jobs run in (sbatch --partition). Empty uses "
              "the cluster's default partition."));
    m_account = lineEdit(tr("your default account"));
    addRow(form, tr("Account:"), m_account, "slurmAccount",
           tr("The Slurm account charged for the jobs (sbatch --account). Empty uses your "
              "default account."));
    m_timeLimit = lineEdit(tr("e.g. 2:00:00"));
    addRow(form, tr("Time limit:"), m_timeLimit, "slurmTime",
           tr("Wall time per job in Slurm's format: minutes, hours:minutes:seconds or "
              "days-hours:minutes:seconds (sbatch --time). A job stopped by the limit continues "
              "from its last checkpoint in a new task. Empty uses the partition's default."));
    m_gres = lineEdit(tr("e.g. gpu:1"));
    addRow(form, tr("GPUs (gres):"), m_gres, "slurmGres",
           tr("Generic resources per job (sbatch --gres), for example gpu:1 for one GPU each. "
              "Empty trains on CPUs."));
    m_cpusPerTask = new QSpinBox;
    m_cpusPerTask->setRange(1, 256);
    addRow(form, tr("CPUs per job:"), m_cpusPerTask, "slurmCpus",
           tr("CPU cores Slurm gives each job (sbatch --cpus-per-task); the job trains with as "
              "many threads."));
    m_memory = lineEdit(tr("the partition's default"));
    addRow(form, tr("Memory per job:"), m_memory, "slurmMemory",
           tr("Memory Slurm gives each job, for example 8G (sbatch --mem). Empty uses the "
              "partition's default."));
    m_maxConcurrent = new QSpinBox;
    m_maxConcurrent->setRange(0, 100000);
    m_maxConcurrent->setSpecialValueText(tr("No limit"));
    addRow(form, tr("Jobs at once:"), m_maxConcurrent, "slurmMaxConcurrent",
           tr("At most this many of the workspace's jobs run on the cluster at the same time, "
              "retries and later submissions included, leaving room for others."));
    connect(m_backend, &QComboBox::currentIndexChanged, this, &TrainingForm::updateBackendRows);
}

void TrainingForm::updateBackendRows()
{
    const bool slurm = backend() == TrainingBackend::Slurm;
    m_runForm->setRowVisible(m_workers, !slurm);
    for (QWidget* field : std::initializer_list<QWidget*>{m_partition, m_account, m_timeLimit,
                                                          m_gres, m_cpusPerTask, m_memory,
                                                          m_maxConcurrent})
        m_runForm->setRowVisible(field, slurm);
}

TrainingBackend TrainingForm::backend() const
{
    return m_backend->currentData().toString() == QLatin1String("slurm")
               ? TrainingBackend::Slurm
               : TrainingBackend::Local;
}

void TrainingForm::setBackend(TrainingBackend backend)
{
    m_backend->setCurrentIndex(
        m_backend->findData(QString::fromStdString(moin::toString(backend))));
    updateBackendRows();
}

SlurmOptions TrainingForm::slurmOptions() const
{
    SlurmOptions options;
    options.partition = m_partition->text().trimmed().toStdString();
    options.account = m_account->text().trimmed().toStdString();
    options.timeLimit = m_timeLimit->text().trimmed().toStdString();
    options.gres = m_gres->text().trimmed().toStdString();
    options.cpusPerTask = m_cpusPerTask->value();
    options.memory = m_memory->text().trimmed().toStdString();
    options.maxConcurrent = m_maxConcurrent->value();
    return options;
}

void TrainingForm::setSlurmOptions(const SlurmOptions& options)
{
    m_partition->setText(QString::fromStdString(options.partition));
    m_account->setText(QString::fromStdString(options.account));
    m_timeLimit->setText(QString::fromStdString(options.timeLimit));
    m_gres->setText(QString::fromStdString(options.gres));
    m_cpusPerTask->setValue(options.cpusPerTask);
    m_memory->setText(QString::fromStdString(options.memory));
    m_maxConcurrent->setValue(options.maxConcurrent);
}

TrainingBackend TrainingForm::lastBackend()
{
    return QSettings().value(kBackendKey).toString() == QLatin1String("slurm")
               ? TrainingBackend::Slurm
               : TrainingBackend::Local;
}

SlurmOptions TrainingForm::lastSlurmOptions()
{
    QSettings settings;
    auto text = [&](const char* key) {
        return settings.value(QLatin1String(kSlurmKey) + QLatin1String(key))
            .toString()
            .toStdString();
    };
    SlurmOptions options;
    options.partition = text("partition");
    options.account = text("account");
    options.timeLimit = text("time");
    options.gres = text("gres");
    options.memory = text("memory");
    options.cpusPerTask =
        std::max(1, settings.value(QLatin1String(kSlurmKey) + "cpusPerTask", 1).toInt());
    options.maxConcurrent =
        std::max(0, settings.value(QLatin1String(kSlurmKey) + "maxConcurrent", 0).toInt());
    return options;
}

TrainingSpec TrainingForm::spec() const
{
    TrainingSpec s;
    s.runId = m_runId;
    const std::vector<int> clusters = chosenClusters();
    s.cluster = clusters.empty() ? 0 : clusters.front();
    s.lora.rank = m_rank->value();
    s.lora.alpha = m_alpha->value();
    s.lora.dropout = m_dropout->value();
    s.lora.targetModules.clear();
    for (QCheckBox* check : m_modules) {
        if (check->isChecked())
            s.lora.targetModules.push_back(check->text().toStdString());
    }
    s.lora.useRslora = m_rslora->isChecked();
    s.learningRate = m_learningRate->value();
    s.minLearningRate = m_minLearningRate->value();
    s.weightDecay = m_weightDecay->value();
    s.beta1 = m_beta1->value();
    s.beta2 = m_beta2->value();
    s.warmupSteps = m_warmup->value();
    s.gradientClip = m_gradientClip->value();
    s.batchSize = m_batchSize->value();
    s.sequenceLength = m_sequenceLength->value();
    s.gradientAccumulation = m_accumulation->value();
    s.steps = m_steps->value();
    s.tokenBudget = m_byTokens->isChecked() ? int64_t(std::llround(m_tokenBudget->value())) : 0;
    s.heldOutFraction = m_heldOut->value();
    s.evalEvery = m_evalEvery->value();
    s.checkpointEvery = m_checkpointEvery->value();
    s.seed = uint64_t(m_seed->value());
    s.device = m_device->currentData().toString().toStdString();
    return s;
}

void TrainingForm::setSpec(const TrainingSpec& s)
{
    m_filling = true;
    m_rank->setValue(s.lora.rank);
    m_alpha->setValue(s.lora.alpha);
    m_dropout->setValue(s.lora.dropout);
    for (QCheckBox* check : m_modules) {
        const std::string name = check->text().toStdString();
        check->setChecked(std::find(s.lora.targetModules.begin(), s.lora.targetModules.end(),
                                    name) != s.lora.targetModules.end());
    }
    m_rslora->setChecked(s.lora.useRslora);
    m_learningRate->setValue(s.learningRate);
    m_minLearningRate->setValue(s.minLearningRate);
    m_weightDecay->setValue(s.weightDecay);
    m_beta1->setValue(s.beta1);
    m_beta2->setValue(s.beta2);
    m_warmup->setValue(int(std::min<int64_t>(s.warmupSteps, m_warmup->maximum())));
    m_gradientClip->setValue(s.gradientClip);
    m_batchSize->setValue(s.batchSize);
    m_sequenceLength->setValue(s.sequenceLength);
    m_accumulation->setValue(s.gradientAccumulation);
    m_steps->setValue(int(std::min<int64_t>(s.steps, m_steps->maximum())));
    if (s.tokenBudget > 0) {
        m_tokenBudget->setValue(double(s.tokenBudget));
        m_byTokens->setChecked(true);
    } else {
        m_tokenBudget->setValue(double(s.tokensPerStep() * std::max<int64_t>(1, s.steps)));
        m_bySteps->setChecked(true);
    }
    m_steps->setEnabled(s.tokenBudget <= 0);
    m_tokenBudget->setEnabled(s.tokenBudget > 0);
    m_heldOut->setValue(s.heldOutFraction);
    m_evalEvery->setValue(int(std::min<int64_t>(s.evalEvery, m_evalEvery->maximum())));
    m_checkpointEvery->setValue(
        int(std::min<int64_t>(s.checkpointEvery, m_checkpointEvery->maximum())));
    m_seed->setValue(int(std::min<uint64_t>(s.seed, uint64_t(INT_MAX))));
    int device = m_device->findData(QString::fromStdString(s.device));
    m_device->setCurrentIndex(device >= 0 ? device : 0);
    m_filling = false;
    onEdited();
}

void TrainingForm::applyPreset(const QString& name)
{
    TrainingSpec preset = TrainingSpec::preset(name.toStdString());
    // The preset sets the training; where and how reproducibly it runs stays the user's.
    const TrainingSpec current = spec();
    preset.device = current.device;
    preset.seed = current.seed;
    setSpec(preset);
}

TrainingForm::Scope TrainingForm::scope() const
{
    if (m_scopeSelected->isChecked())
        return Scope::Selected;
    if (m_scopeAll->isChecked())
        return Scope::All;
    return Scope::Untrained;
}

void TrainingForm::setScope(Scope scope)
{
    switch (scope) {
    case Scope::Untrained: m_scopeUntrained->setChecked(true); break;
    case Scope::All: m_scopeAll->setChecked(true); break;
    case Scope::Selected:
        if (m_scopeSelected->isEnabled())
            m_scopeSelected->setChecked(true);
        else
            m_scopeUntrained->setChecked(true);
        break;
    }
}

std::vector<int> TrainingForm::chosenClusters() const
{
    std::vector<int> chosen;
    const Scope which = scope();
    for (const ClusterChoice& c : m_clusters) {
        if (c.busy || c.chunks < 2)
            continue;
        if (which == Scope::Untrained && c.trained)
            continue;
        if (which == Scope::Selected
            && std::find(m_selected.begin(), m_selected.end(), c.cluster) == m_selected.end())
            continue;
        chosen.push_back(c.cluster);
    }
    return chosen;
}

std::vector<TrainingSpec> TrainingForm::specs() const
{
    const TrainingSpec base = spec();
    std::vector<TrainingSpec> all;
    for (int cluster : chosenClusters()) {
        TrainingSpec s = base;
        s.cluster = cluster;
        all.push_back(s);
    }
    return all;
}

int TrainingForm::workers() const { return m_workers->value(); }

void TrainingForm::setWorkers(int workers) { m_workers->setValue(workers); }

int TrainingForm::priority() const { return m_priority->value(); }

bool TrainingForm::startNow() const { return m_startNow->isChecked(); }

void TrainingForm::setStartNow(bool start) { m_startNow->setChecked(start); }

QString TrainingForm::validationError() const
{
    try {
        spec().validate();
    } catch (const std::exception& e) {
        QString message = QString::fromUtf8(e.what());
        if (!message.isEmpty())
            message[0] = message[0].toUpper();
        return message;
    }
    return {};
}

void TrainingForm::onEdited()
{
    if (m_filling)
        return;
    // The preset combo names the preset the fields match, or Custom.
    const std::string current = comparable(spec());
    int match = m_preset->count() - 1;
    for (int i = 0; i + 1 < m_preset->count(); ++i) {
        const std::string name = m_preset->itemData(i).toString().toStdString();
        if (comparable(TrainingSpec::preset(name)) == current) {
            match = i;
            break;
        }
    }
    m_preset->setCurrentIndex(match);
    updateSummary();
}

void TrainingForm::updateSummary()
{
    const TrainingSpec s = spec();
    const QLocale locale;
    m_tokensPerStep->setText(tr("= %1 tokens per optimizer step")
                                 .arg(locale.toString(qint64(s.tokensPerStep()))));
    m_totalSteps->setText(tr("= %1 optimizer steps, %2 training tokens per expert")
                              .arg(locale.toString(qint64(s.totalSteps())),
                                   locale.toString(qint64(s.totalSteps() * s.tokensPerStep()))));

    int busy = 0, tiny = 0, inScope = 0;
    const Scope which = scope();
    for (const ClusterChoice& c : m_clusters) {
        if (which == Scope::Untrained && c.trained)
            continue;
        if (which == Scope::Selected
            && std::find(m_selected.begin(), m_selected.end(), c.cluster) == m_selected.end())
            continue;
        ++inScope;
        if (c.busy)
            ++busy;
        else if (c.chunks < 2)
            ++tiny;
    }
    const int count = int(chosenClusters().size());
    QStringList skipped;
    if (busy > 0)
        skipped << (busy == 1 ? tr("1 already has a job in the queue")
                              : tr("%L1 already have jobs in the queue").arg(busy));
    if (tiny > 0)
        skipped << (tiny == 1 ? tr("1 has fewer than 2 chunks")
                              : tr("%L1 have fewer than 2 chunks").arg(tiny));
    QString summary = count == 1 ? tr("1 job will be added.")
                                 : tr("%L1 jobs will be added.").arg(count);
    if (!skipped.isEmpty())
        summary += QLatin1Char(' ') + tr("Skipped: %1.").arg(skipped.join(tr("; ")));
    m_scopeSummary->setText(summary);

    QPushButton* ok = m_buttons->button(QDialogButtonBox::Ok);
    ok->setText(count == 1 ? tr("Add 1 job") : tr("Add %L1 jobs").arg(count));
    const QString error = validationError();
    if (!error.isEmpty())
        showMessage(error, true);
    else if (count == 0)
        showMessage(inScope == 0 ? tr("No cluster in this choice: choose another above.")
                                 : tr("Every cluster of this choice is skipped (see above)."),
                    true);
    else
        showMessage({}, false);
    ok->setEnabled(!m_submitting && error.isEmpty() && count > 0);
}

void TrainingForm::showMessage(const QString& text, bool error)
{
    QPalette palette = m_message->palette();
    palette.setColor(QPalette::WindowText, error ? QColor(0xcf, 0x22, 0x2e)
                                                 : this->palette().color(QPalette::WindowText));
    m_message->setPalette(palette);
    m_message->setText(text);
}

void TrainingForm::setSubmitting(bool submitting)
{
    m_submitting = submitting;
    for (QWidget* child : findChildren<QGroupBox*>())
        child->setEnabled(!submitting);
    m_preset->setEnabled(!submitting);
    m_buttons->button(QDialogButtonBox::Cancel)->setEnabled(!submitting);
    updateSummary();
}

void TrainingForm::accept()
{
    if (m_submitting)
        return;
    updateSummary();
    if (!m_buttons->button(QDialogButtonBox::Ok)->isEnabled())
        return; // the message says why
    QSettings settings;
    TrainingSpec remembered = spec();
    remembered.runId = 0;
    remembered.cluster = 0;
    settings.setValue(kSpecKey, QString::fromStdString(remembered.toJson()));
    AppSettings::setTrainingWorkers(workers()); // what Settings shows as well
    settings.setValue(kBackendKey, QString::fromStdString(moin::toString(backend())));
    const SlurmOptions slurm = slurmOptions();
    const QString slurmKey = QLatin1String(kSlurmKey);
    settings.setValue(slurmKey + "partition", QString::fromStdString(slurm.partition));
    settings.setValue(slurmKey + "account", QString::fromStdString(slurm.account));
    settings.setValue(slurmKey + "time", QString::fromStdString(slurm.timeLimit));
    settings.setValue(slurmKey + "gres", QString::fromStdString(slurm.gres));
    settings.setValue(slurmKey + "memory", QString::fromStdString(slurm.memory));
    settings.setValue(slurmKey + "cpusPerTask", slurm.cpusPerTask);
    settings.setValue(slurmKey + "maxConcurrent", slurm.maxConcurrent);
    settings.setValue(kStartNowKey, startNow());
    if (scope() != Scope::Selected)
        settings.setValue(kScopeKey, int(scope()));
    const int count = int(chosenClusters().size());
    setSubmitting(true);
    showMessage(count == 1 ? tr("Adding 1 job…") : tr("Adding %L1 jobs…").arg(count), false);
    emit submitted();
}

void TrainingForm::finishSubmit(qint64 added, const QStringList& problems)
{
    setSubmitting(false);
    if (problems.isEmpty() || added > 0) {
        QDialog::accept();
        return;
    }
    showMessage(tr("No job was added: %1").arg(problems.join(QLatin1Char('\n'))), true);
}

TrainingSpec TrainingForm::lastSpec()
{
    const QString json = QSettings().value(kSpecKey).toString();
    if (!json.isEmpty()) {
        try {
            return TrainingSpec::fromJson(json.toStdString(), "settings");
        } catch (const std::exception&) {
            // Settings of another version: start from the preset.
        }
    }
    return TrainingSpec::preset("quick");
}

int TrainingForm::lastWorkers() { return AppSettings::trainingWorkers(); }

} // namespace moin::ui
