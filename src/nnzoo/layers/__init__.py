"""Building blocks shared by several architectures: activations, pooling, recurrent layers…"""
