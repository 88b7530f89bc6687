#include "clusterrundialog.h"
#include "widgetstyle.h"

#include "moin/workspace.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>

namespace moin::ui {

/// What a run's worker and its dialog share. The dialog may be gone before the worker ends.
struct ClusterRunState {
    CancelToken cancel;
    std::mutex mutex;
    std::string phase;    // guarded by mutex
    double fraction = 0;  // guarded by mutex
    std::string error;    // guarded by mutex; set when the run threw
};

namespace {
constexpr auto kEmbedderKey = "clustering/run/embedder";
constexpr auto kClustersKey = "clustering/run/k";
constexpr auto kBalancedKey = "clustering/run/balanced";
constexpr auto kBoundKey = "clustering/run/maxClusterSizeFactor";
constexpr auto kLayoutKey = "clustering/run/layout";
constexpr auto kSeedKey = "clustering/run/seed";
constexpr auto kActivateKey = "clustering/run/activate";
constexpr auto kMethodKey = "clustering/run/method";
constexpr auto kMinClusterSizeKey = "clustering/run/minClusterSize";
constexpr auto kMinSamplesKey = "clustering/run/minSamples";
constexpr auto kReduceDimensionsKey = "clustering/run/reduceDimensions";
constexpr int kPollMs = 100;

QString elapsedText(qint64 ms)
{
    const qint64 seconds = ms / 1000;
    return QStringLiteral("%1:%2").arg(seconds / 60).arg(seconds % 60, 2, 10, QLatin1Char('0'));
}
} // namespace

ClusterRunDialog::ClusterRunDialog(const QString& directory, qint64 chunks, QWidget* parent)
    : QDialog(parent), m_directory(directory), m_chunks(chunks)
{
    setWindowTitle(tr("New clustering run"));
    setObjectName("clusterRunDialog");

    auto* intro = new QLabel(
        tr("Group the %L1 chunks of the corpus into clusters; each cluster will train one "
           "expert. The new run is kept beside the earlier ones.")
            .arg(chunks));
    intro->setWordWrap(true);
    intro->setTextFormat(Qt::RichText);

    m_embedder = new QComboBox;
    m_embedder->setObjectName("embedder");
    m_embedder->addItem(tr("tf-idf + SVD (fast, no model needed)"), QStringLiteral("tfidf"));
    m_embedder->addItem(tr("Base model states (slower)"), QStringLiteral("model"));
    m_embedder->setToolTip(
        tr("How chunks become vectors: word statistics reduced to 128 dimensions, or the mean "
           "of the base model's final hidden states. Queries are routed with the same one."));

    m_method = new QComboBox;
    m_method->setObjectName("method");
    m_method->addItem(tr("k-means (you choose k)"), QStringLiteral("kmeans"));
    m_method->addItem(tr("HDBSCAN (finds the number of clusters)"), QStringLiteral("hdbscan"));
    m_method->setToolTip(
        tr("k-means makes exactly k clusters (the paper's MoIN-5k). HDBSCAN reduces the "
           "embeddings with UMAP, then finds dense groups, as many as the data has (the paper's "
           "MoIN-500); chunks in sparse regions are noise: shown grey on the map, and trained "
           "and routed with their nearest cluster."));

    m_minClusterSize = new QSpinBox;
    m_minClusterSize->setObjectName("minClusterSize");
    m_minClusterSize->setRange(2, int(std::clamp<qint64>(chunks, 2, 1000000)));
    m_minClusterSize->setAccelerated(true);
    m_minClusterSize->setToolTip(tr("HDBSCAN: the smallest group of chunks that counts as a "
                                    "cluster; larger values give fewer, bigger clusters"));
    m_minSamples = new QSpinBox;
    m_minSamples->setObjectName("minSamples");
    m_minSamples->setRange(0, int(std::clamp<qint64>(chunks, 2, 1000000)));
    m_minSamples->setSpecialValueText(tr("same as the minimum cluster size"));
    m_minSamples->setToolTip(tr("HDBSCAN: how many neighbours (itself included) a chunk needs "
                                "to lie in a dense region; larger values call more chunks "
                                "noise"));
    m_reduceDimensions = new QSpinBox;
    m_reduceDimensions->setObjectName("reduceDimensions");
    m_reduceDimensions->setRange(2, 16);
    m_reduceDimensions->setToolTip(tr("HDBSCAN: the dimensions UMAP reduces the embeddings to "
                                      "before clustering (the paper's recipe; 5 to 10 works "
                                      "well)"));

    m_clusters = new QSpinBox;
    m_clusters->setObjectName("clusters");
    m_clusters->setRange(2, int(std::clamp<qint64>(chunks, 2, 1000000)));
    m_clusters->setAccelerated(true);
    m_clusters->setToolTip(tr("How many clusters, and so experts (2 to the number of chunks). "
                              "The MoIN paper uses 5,000 for a large corpus."));

    m_balanced = new QCheckBox(tr("Balanced sizes"));
    m_balanced->setObjectName("balanced");
    m_balanced->setToolTip(tr("Bound every cluster's size, so that no expert gets much more "
                              "training text than the others (c-BTM's balanced k-means)"));
    m_bound = new QDoubleSpinBox;
    m_bound->setObjectName("bound");
    m_bound->setRange(1.0, 20.0);
    m_bound->setSingleStep(0.1);
    m_bound->setDecimals(2);
    m_bound->setSuffix(tr(" × mean size"));
    m_bound->setToolTip(tr("The largest a cluster may grow, as a multiple of the mean cluster "
                           "size (chunks / k); at least 1"));
    auto* balancedRow = new QHBoxLayout;
    balancedRow->setContentsMargins(0, 0, 0, 0);
    balancedRow->addWidget(m_balanced);
    balancedRow->addWidget(m_bound, 1);

    m_layout = new QComboBox;
    m_layout->setObjectName("layout");
    m_layout->addItem(tr("UMAP (clusters stand apart)"), QStringLiteral("umap"));
    m_layout->addItem(tr("PCA (fast, linear; clusters may overlap)"), QStringLiteral("pca"));
    m_layout->setToolTip(tr("How the chunks are placed on the 2-D map; it does not change the "
                            "clusters"));

    m_seed = new QSpinBox;
    m_seed->setObjectName("seed");
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setToolTip(tr("Seeds k-means's first centroids and the layout: the same seed on the "
                          "same corpus gives the same clusters"));

    m_activate = new QCheckBox(tr("Make it the active run (the one chat routes with)"));
    m_activate->setObjectName("activate");

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("&Embedder:"), m_embedder);
    form->addRow(tr("&Method:"), m_method);
    form->addRow(tr("&Clusters (k):"), m_clusters);
    form->addRow(QString(), balancedRow);
    form->addRow(tr("Minimum cluster si&ze:"), m_minClusterSize);
    form->addRow(tr("Minimum sam&ples:"), m_minSamples);
    form->addRow(tr("&Reduce to dimensions:"), m_reduceDimensions);
    m_formLayout = form;
    form->addRow(tr("&Layout:"), m_layout);
    form->addRow(tr("&Seed:"), m_seed);
    m_form = new QWidget;
    m_form->setLayout(form);
    form->setContentsMargins(0, 0, 0, 0);

    m_phase = new QLabel;
    m_phase->setObjectName("runPhase");
    m_progress = new QProgressBar;
    m_progress->setObjectName("runProgress");
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(true);
    m_progressPanel = new QWidget;
    auto* progressLayout = new QVBoxLayout(m_progressPanel);
    progressLayout->setContentsMargins(0, 0, 0, 0);
    progressLayout->addWidget(m_phase);
    progressLayout->addWidget(m_progress);
    m_progressPanel->hide();

    m_message = mutedLabel(QString());
    m_message->setObjectName("runMessage");
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);

    m_buttons = new QDialogButtonBox;
    m_run = m_buttons->addButton(tr("Run"), QDialogButtonBox::AcceptRole);
    m_run->setObjectName("runButton");
    m_run->setDefault(true);
    m_cancel = m_buttons->addButton(QDialogButtonBox::Cancel);
    m_cancel->setObjectName("cancelButton");
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ClusterRunDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ClusterRunDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addSpacing(4);
    layout->addWidget(m_form);
    // Below the form, not in its field column: the labels' column would leave it too narrow.
    layout->addWidget(m_activate);
    layout->addWidget(m_progressPanel);
    layout->addWidget(m_message);
    layout->addStretch();
    layout->addWidget(m_buttons);
    setMinimumWidth(460);

    m_poll = new QTimer(this);
    m_poll->setInterval(kPollMs);
    connect(m_poll, &QTimer::timeout, this, &ClusterRunDialog::pollProgress);
    connect(&m_watcher, &QFutureWatcher<qint64>::finished, this, &ClusterRunDialog::onFinished);
    connect(m_balanced, &QCheckBox::toggled, this, &ClusterRunDialog::updateEnabled);
    connect(m_method, &QComboBox::currentIndexChanged, this, &ClusterRunDialog::updateEnabled);

    // The settings used last, else the library's defaults.
    const QSettings settings;
    ClusterRunOptions last;
    last.embedder.kind = settings.value(kEmbedderKey, "tfidf").toString().toStdString();
    last.kmeans.k = settings.value(kClustersKey, 8).toInt();
    last.kmeans.balanced = settings.value(kBalancedKey, false).toBool();
    last.kmeans.maxClusterSizeFactor = settings.value(kBoundKey, 1.5).toDouble();
    last.layout.method = settings.value(kLayoutKey, "umap").toString().toStdString();
    last.kmeans.seed = settings.value(kSeedKey, 1234).toULongLong();
    last.activate = settings.value(kActivateKey, true).toBool();
    last.method = settings.value(kMethodKey, "kmeans").toString().toStdString();
    last.hdbscan.minClusterSize =
        settings.value(kMinClusterSizeKey, last.hdbscan.minClusterSize).toInt();
    last.hdbscan.minSamples = settings.value(kMinSamplesKey, last.hdbscan.minSamples).toInt();
    last.reduceDimensions = settings.value(kReduceDimensionsKey, last.reduceDimensions).toInt();
    setOptions(last);

    if (chunks < 2) {
        m_message->setText(tr("The corpus needs at least two chunks to be clustered; import "
                              "documents in the Corpus view first."));
        m_run->setEnabled(false);
    }
}

ClusterRunDialog::~ClusterRunDialog()
{
    if (m_state)
        m_state->cancel.cancel(); // the worker keeps the state alive until it returns
}

ClusterRunOptions ClusterRunDialog::options() const
{
    ClusterRunOptions options;
    options.embedder.kind = m_embedder->currentData().toString().toStdString();
    options.kmeans.k = m_clusters->value();
    options.kmeans.balanced = m_balanced->isChecked();
    options.kmeans.maxClusterSizeFactor = m_bound->value();
    options.kmeans.seed = uint64_t(m_seed->value());
    options.layout.method = m_layout->currentData().toString().toStdString();
    options.layout.seed = uint64_t(m_seed->value());
    options.activate = m_activate->isChecked();
    options.method = m_method->currentData().toString().toStdString();
    options.hdbscan.minClusterSize = m_minClusterSize->value();
    options.hdbscan.minSamples = m_minSamples->value();
    options.hdbscan.seed = uint64_t(m_seed->value());
    options.reduceDimensions = m_reduceDimensions->value();
    return options;
}

void ClusterRunDialog::setOptions(const ClusterRunOptions& options)
{
    const int embedder = m_embedder->findData(QString::fromStdString(options.embedder.kind));
    m_embedder->setCurrentIndex(std::max(embedder, 0));
    m_clusters->setValue(options.kmeans.k);
    m_balanced->setChecked(options.kmeans.balanced);
    m_bound->setValue(options.kmeans.maxClusterSizeFactor);
    const int layout = m_layout->findData(QString::fromStdString(options.layout.method));
    m_layout->setCurrentIndex(std::max(layout, 0));
    m_seed->setValue(int(std::min<uint64_t>(options.kmeans.seed,
                                            uint64_t(std::numeric_limits<int>::max()))));
    m_activate->setChecked(options.activate);
    m_method->setCurrentIndex(
        std::max(m_method->findData(QString::fromStdString(options.method)), 0));
    m_minClusterSize->setValue(options.hdbscan.minClusterSize);
    m_minSamples->setValue(options.hdbscan.minSamples);
    m_reduceDimensions->setValue(options.reduceDimensions);
    updateEnabled();
}

void ClusterRunDialog::updateEnabled()
{
    m_bound->setEnabled(m_balanced->isChecked() && !isRunning());
    // Each method shows only its own settings.
    const bool hdbscan = m_method->currentData().toString() == QLatin1String("hdbscan");
    int clustersRow = -1;
    QFormLayout::ItemRole role;
    m_formLayout->getWidgetPosition(m_clusters, &clustersRow, &role);
    m_formLayout->setRowVisible(clustersRow, !hdbscan);
    m_formLayout->setRowVisible(clustersRow + 1, !hdbscan); // balanced sizes and the bound
    m_formLayout->setRowVisible(m_minClusterSize, hdbscan);
    m_formLayout->setRowVisible(m_minSamples, hdbscan);
    m_formLayout->setRowVisible(m_reduceDimensions, hdbscan);
}

void ClusterRunDialog::accept()
{
    start(); // the dialog closes when the run is stored
}

void ClusterRunDialog::reject()
{
    if (isRunning()) {
        cancel(); // Escape stops the run; the dialog stays, to try other settings
        return;
    }
    QDialog::reject();
}

bool ClusterRunDialog::start()
{
    if (isRunning())
        return false;
    const ClusterRunOptions opts = options();
    try {
        opts.validate();
        if (opts.method == "hdbscan" && opts.hdbscan.minClusterSize > m_chunks) {
            throw std::runtime_error(tr("the minimum cluster size is %1 but the corpus has only "
                                        "%2 chunks")
                                         .arg(opts.hdbscan.minClusterSize)
                                         .arg(m_chunks)
                                         .toStdString());
        }
        if (opts.method == "kmeans" && opts.kmeans.k > m_chunks) {
            throw std::runtime_error(tr("k is %1 but the corpus has only %2 chunks")
                                         .arg(opts.kmeans.k)
                                         .arg(m_chunks)
                                         .toStdString());
        }
    } catch (const std::exception& e) {
        m_message->setText(tr("Cannot run with these settings: %1.")
                               .arg(QString::fromUtf8(e.what())));
        return false;
    }

    QSettings settings;
    settings.setValue(kEmbedderKey, QString::fromStdString(opts.embedder.kind));
    settings.setValue(kClustersKey, opts.kmeans.k);
    settings.setValue(kBalancedKey, opts.kmeans.balanced);
    settings.setValue(kBoundKey, opts.kmeans.maxClusterSizeFactor);
    settings.setValue(kLayoutKey, QString::fromStdString(opts.layout.method));
    settings.setValue(kSeedKey, qulonglong(opts.kmeans.seed));
    settings.setValue(kActivateKey, opts.activate);
    settings.setValue(kMethodKey, QString::fromStdString(opts.method));
    settings.setValue(kMinClusterSizeKey, opts.hdbscan.minClusterSize);
    settings.setValue(kMinSamplesKey, opts.hdbscan.minSamples);
    settings.setValue(kReduceDimensionsKey, opts.reduceDimensions);

    m_state = std::make_shared<ClusterRunState>();
    std::shared_ptr<ClusterRunState> state = m_state;
    const std::string directory = m_directory.toStdString();
    m_elapsed.start();
    setRunning(true);
    m_watcher.setFuture(QtConcurrent::run([state, directory, opts]() -> qint64 {
        try {
            Workspace workspace = Workspace::open(directory);
            return runClustering(
                workspace, opts,
                [&state](const std::string& phase, double fraction) {
                    const std::lock_guard<std::mutex> lock(state->mutex);
                    state->phase = phase;
                    state->fraction = fraction;
                },
                &state->cancel);
        } catch (const std::exception& e) {
            const std::lock_guard<std::mutex> lock(state->mutex);
            state->error = e.what();
        } catch (...) {
            const std::lock_guard<std::mutex> lock(state->mutex);
            state->error = "an unknown error";
        }
        return 0;
    }));
    return true;
}

void ClusterRunDialog::cancel()
{
    if (!isRunning() || !m_state)
        return;
    m_state->cancel.cancel();
    m_cancel->setEnabled(false);
    m_phase->setText(tr("Cancelling… (the run stops at its next step)"));
}

void ClusterRunDialog::setRunning(bool running)
{
    m_form->setEnabled(!running);
    m_activate->setEnabled(!running);
    m_run->setEnabled(!running);
    m_cancel->setEnabled(true);
    m_cancel->setText(running ? tr("Cancel run") : tr("Close"));
    m_progressPanel->setVisible(running);
    if (running) {
        m_message->clear();
        m_phase->setText(tr("Starting…"));
        m_progress->setValue(0);
        m_progress->setFormat(QString());
        m_poll->start();
    } else {
        m_poll->stop();
    }
    updateEnabled();
}

QString ClusterRunDialog::phaseText(const QString& phase)
{
    static const QRegularExpression reusing(QStringLiteral("^reusing embeddings of run (\\d+)$"));
    if (const auto match = reusing.match(phase); match.hasMatch())
        return tr("Reusing the embeddings of run %1").arg(match.captured(1));
    if (phase == QLatin1String("reading chunks"))
        return tr("Reading the chunks");
    if (phase == QLatin1String("loading the base model"))
        return tr("Loading the base model");
    if (phase == QLatin1String("fitting the embedder"))
        return tr("Fitting the embedder");
    if (phase == QLatin1String("embedding chunks"))
        return tr("Embedding the chunks");
    if (phase == QLatin1String("k-means"))
        return tr("Grouping the chunks (k-means)");
    if (phase == QLatin1String("reducing dimensions"))
        return tr("Reducing the embeddings' dimensions (UMAP)");
    if (phase == QLatin1String("HDBSCAN"))
        return tr("Grouping the chunks (HDBSCAN)");
    if (phase == QLatin1String("keywords"))
        return tr("Finding each cluster's keywords");
    if (phase == QLatin1String("layout"))
        return tr("Laying out the map");
    if (phase == QLatin1String("saving"))
        return tr("Saving the run");
    if (phase == QLatin1String("done"))
        return tr("Done");
    return phase;
}

void ClusterRunDialog::pollProgress()
{
    if (!m_state || m_state->cancel.isCancelled())
        return;
    std::string phase;
    double fraction = 0;
    {
        const std::lock_guard<std::mutex> lock(m_state->mutex);
        phase = m_state->phase;
        fraction = m_state->fraction;
    }
    if (phase.empty())
        return;
    m_phase->setText(tr("%1 · %2 elapsed")
                         .arg(phaseText(QString::fromStdString(phase)),
                              elapsedText(m_elapsed.elapsed())));
    m_progress->setValue(std::clamp(int(fraction * 1000), 0, 1000));
    m_progress->setFormat(QStringLiteral("%1%").arg(int(fraction * 100)));
}

void ClusterRunDialog::onFinished()
{
    const qint64 runId = m_watcher.result();
    QString error;
    if (m_state) {
        const std::lock_guard<std::mutex> lock(m_state->mutex);
        error = QString::fromStdString(m_state->error);
    }
    setRunning(false);
    if (runId > 0) {
        emit runFinished(runId);
        QDialog::accept();
        return;
    }
    if (error.isEmpty()) {
        m_message->setText(tr("The run was cancelled; nothing was stored."));
    } else {
        m_message->setText(tr("The run failed: %1").arg(error));
    }
    emit runStopped(error);
}

} // namespace moin::ui
