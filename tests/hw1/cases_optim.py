"""Mutants and alternative correct solutions for SGD with momentum (001 Q4)."""

MUTANTS = {
    "hw1.sgd_momentum": {
        # With beta = 0.9 and lr = 0.1, (1 - beta) equals lr: this mutant gets the
        # worked example right, so only the random cases can catch it.
        "exponential moving average of the gradient (1 - beta), lr dropped": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    velocity = beta * velocity + (1 - beta) * grad
    return theta - velocity, velocity
''',
        "gradient sign flipped (dy/dloss written as 2 (t - y))": '''
def quadratic_grad(params, x1, x2, t):
    a, b, c, d = params
    y = a * x1 ** 2 + b * x2 ** 2 + c * x1 * x2 + d
    return 2.0 * (t - y) * np.array([x1 ** 2, x2 ** 2, x1 * x2, 1.0])
''',
        "theta updated with the old velocity": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    theta_new = theta - velocity
    return theta_new, beta * velocity + lr * grad
''',
        "lr applied twice (velocity with lr, then theta -= lr * velocity)": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    velocity = beta * velocity + lr * grad
    return theta - lr * velocity, velocity
''',
        "gradient without the factor 2": '''
def quadratic_grad(params, x1, x2, t):
    a, b, c, d = params
    y = a * x1 ** 2 + b * x2 ** 2 + c * x1 * x2 + d
    return -(t - y) * np.array([x1 ** 2, x2 ** 2, x1 * x2, 1.0])
''',
        "worked example hard-coded from a wrong hand calculation": '''
def run_worked_example():
    return [2.6, 0.6, -2.6, 2.6]
''',
    },
}

ALTERNATIVES = {
    "hw1.sgd_momentum": {
        "in-place updates, gradient term by term, list result": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    v = np.array(velocity, dtype=float)
    v *= beta
    v += lr * np.asarray(grad)
    th = np.array(theta, dtype=float)
    th -= v
    return th, v

def quadratic_grad(params, x1, x2, t):
    a, b, c, d = [float(p) for p in params]
    residual = t - (a * x1 * x1 + b * x2 * x2 + c * x1 * x2 + d)
    return np.array([-2 * residual * x1 * x1, -2 * residual * x2 * x2, -2 * residual * x1 * x2, -2 * residual])

def run_worked_example():
    state = {"theta": np.array([1.0, -1.0, -1.0, 1.0]), "v": np.zeros(4)}
    for sample in ((1, -1, 10), (2, 0, 13)):
        g = quadratic_grad(state["theta"], *sample)
        state["theta"], state["v"] = sgd_momentum_step(state["theta"], g, state["v"], lr=0.1, beta=0.9)
    return [float(p) for p in state["theta"]]
''',
    },
}

CONVENTIONS = {
    "hw1.sgd_momentum": {
        "PyTorch's velocity (v = beta v + g, theta -= lr v)": {
            "code": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    v = beta * velocity + grad
    return theta - lr * v, v
''',
            "part": "(convention: lr inside the velocity",
            "loses": 0.31,
            "says": "PyTorch's convention",
            "names": ("PyTorch", "001 Q4"),
        },
        "CS231n's and Keras's velocity (v = beta v - lr g, theta += v)": {
            "code": '''
def sgd_momentum_step(theta, grad, velocity, lr, beta):
    v = beta * velocity - lr * grad
    return theta + v, v
''',
            "part": "(convention: lr inside the velocity",
            "loses": 0.31,
            "says": "CS231n's and Keras's convention",
            "names": ("CS231n", "001 Q4"),
        },
    },
}
