#pragma once
// Small fixtures shared by several suites.
#include "moin/error.h"
#include "moin/model.h"
#include "moin/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>

#include <functional>
#include <random>

namespace testsupport {

/// Writes a tiny but complete base model folder (config.json, model.safetensors,
/// tokenizer.model) into `dir`: a 320-piece tokenizer and a 2-layer random Llama.
inline void makeTinyBaseModel(const QString& dir)
{
    QDir().mkpath(dir);
    const QString textPath = dir + "/tokenizer-text.txt";
    {
        QFile text(textPath);
        text.open(QIODevice::WriteOnly);
        for (int i = 0; i < 30; ++i) {
            text.write("In the beginning was the word, and experts route every query.\n"
                       "A compiler translates source code into machine instructions.\n"
                       "Elizabeth walked to Longbourn through the wet fields of Hertfordshire.\n");
        }
    }
    moin::TokenizerTrainOptions options;
    options.inputFiles = {textPath.toStdString()};
    options.modelPrefix = (dir + "/tokenizer").toStdString();
    options.vocabSize = 320;
    const moin::Tokenizer tokenizer = moin::Tokenizer::load(moin::Tokenizer::train(options));
    QFile::remove(textPath);
    QFile::remove(dir + "/tokenizer.vocab");

    moin::LlamaConfig config;
    config.vocabSize = tokenizer.vocabSize();
    config.hiddenSize = 32;
    config.intermediateSize = 64;
    config.numLayers = 2;
    config.numHeads = 4;
    config.numKvHeads = 2;
    config.maxPositions = 64;
    config.tieWordEmbeddings = true;
    moin::LanguageModel model = moin::LanguageModel::random(config, 1);
    model.setTokenizer(tokenizer);
    model.save(dir.toStdString());
}

/// Three vocabularies far apart (compilers, scripture, Austen), for corpora whose clusters are
/// known: topicText(t, i) is 40 words of topic t, different for each i.
inline const char* const kTopics[3][8] = {
    {"compiler", "parser", "register", "assembly", "linker", "bytecode", "kernel", "pointer"},
    {"shepherd", "temple", "prophet", "psalm", "covenant", "pharaoh", "altar", "tribe"},
    {"ballroom", "carriage", "bonnet", "marriage", "estate", "cousin", "parsonage", "suitor"},
};

inline QString topicText(int topic, int i)
{
    std::mt19937 rng(uint32_t(topic * 1000 + i));
    QStringList words;
    for (int w = 0; w < 40; ++w)
        words << kTopics[topic][rng() % 8];
    return words.join(' ');
}

/// The message of the moin::Error that `action` throws, or an empty string if it throws none.
inline QString errorOf(const std::function<void()>& action)
{
    try {
        action();
    } catch (const moin::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

} // namespace testsupport
