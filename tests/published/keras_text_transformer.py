"""Keras example "Text classification with Transformer", copied as published.

Source: keras-team/keras-io, examples/nlp/text_classification_with_transformer.py
(https://keras.io/examples/nlp/text_classification_with_transformer/), stored version at commit
1909c6710cd3f5af6401f1176dcee9e26781b4f3 (header: Date created 2020/05/10, Last modified
2024/01/18, "Converted to Keras 3").

Removed: the IMDB download and `pad_sequences`, compile and fit. Kept unchanged: imports,
`TransformerBlock`, `TokenAndPositionEmbedding`, the constants the example sets
(`vocab_size = 20000`, `maxlen = 200`, `embed_dim = 32`, `num_heads = 2`, `ff_dim = 32`) and the
functional model.

What it exercises: a functional model through two custom layers: `TokenAndPositionEmbedding`
(two Embeddings, positions from `ops.arange(ops.shape(x)[-1])`, a raw `+`) and
`TransformerBlock` (MultiHeadAttention + a nested Sequential FFN + LayerNorms + raw residual
adds). The token input is declared as `layers.Input(shape=(maxlen,))`, i.e. FLOAT32, and fed to
Embeddings.
"""

import keras
from keras import ops
from keras import layers


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [
                layers.Dense(ff_dim, activation="relu"),
                layers.Dense(embed_dim),
            ]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


vocab_size = 20000  # Only consider the top 20k words
maxlen = 200  # Only consider the first 200 words of each movie review


embed_dim = 32  # Embedding size for each token
num_heads = 2  # Number of attention heads
ff_dim = 32  # Hidden layer size in feed forward network inside transformer

inputs = layers.Input(shape=(maxlen,))
embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
x = embedding_layer(inputs)
transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
x = transformer_block(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)

model = keras.Model(inputs=inputs, outputs=outputs)


# --- modelscope test metadata (not part of the example) ---
INPUT_SHAPE = None                # declared: (None, 200) float32
EXPECTED_PARAMS = None
