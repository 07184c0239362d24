! The lecture's Fortran subroutine, wrapped by numpy.f2py, and taken past the lecture.
!
! Arrays are (3, n, 2): the memory layout of NumPy's C-ordered (2, n, 3) state (positions,
! then velocities), so f2py passes them without a copy. Newton's third law (each pair
! once, i < j) halves the work, and structure-of-arrays copies of the coordinates let the
! compiler vectorize the pair loop (flags from the top-level meson.build).

subroutine pair_accelerations(n, pos, mass, acc)
    implicit none
    integer, intent(in) :: n
    double precision, intent(in) :: pos(3, n), mass(n)
    double precision, intent(out) :: acc(3, n)
    ! Allocatable, not automatic: large N must not overflow the stack.
    double precision, allocatable :: x(:), y(:), z(:), ax(:), ay(:), az(:)
    double precision :: xi, yi, zi, mi, sx, sy, sz, dx, dy, dz, r2, s
    integer :: i, j

    allocate(x(n), y(n), z(n), ax(n), ay(n), az(n))
    x = pos(1, :)
    y = pos(2, :)
    z = pos(3, :)
    ax = 0.0d0
    ay = 0.0d0
    az = 0.0d0
    do i = 1, n
        xi = x(i)
        yi = y(i)
        zi = z(i)
        mi = mass(i)
        sx = 0.0d0
        sy = 0.0d0
        sz = 0.0d0
        do j = i + 1, n
            dx = x(j) - xi
            dy = y(j) - yi
            dz = z(j) - zi
            r2 = dx * dx + dy * dy + dz * dz
            s = 1.0d0 / (r2 * sqrt(r2))
            sx = sx + mass(j) * s * dx
            sy = sy + mass(j) * s * dy
            sz = sz + mass(j) * s * dz
            ax(j) = ax(j) - mi * s * dx
            ay(j) = ay(j) - mi * s * dy
            az(j) = az(j) - mi * s * dz
        end do
        ax(i) = ax(i) + sx
        ay(i) = ay(i) + sy
        az(i) = az(i) + sz
    end do
    acc(1, :) = ax
    acc(2, :) = ay
    acc(3, :) = az
end subroutine pair_accelerations


subroutine derivatives(n, state, mass, rate)
    ! rate(:, :, 1) = velocities, rate(:, :, 2) = accelerations.
    implicit none
    integer, intent(in) :: n
    double precision, intent(in) :: state(3, n, 2), mass(n)
    double precision, intent(inout) :: rate(3, n, 2)

    rate(:, :, 1) = state(:, :, 2)
    call pair_accelerations(n, state(:, :, 1), mass, rate(:, :, 2))
end subroutine derivatives


subroutine integrate(n, nsteps, nframes, initial, mass, steps, frame_ends, frames)
    ! The whole midpoint-RK2 run: frame k is recorded after step frame_ends(k).
    implicit none
    integer, intent(in) :: n, nsteps, nframes
    double precision, intent(in) :: initial(3, n, 2), mass(n), steps(nsteps)
    integer, intent(in) :: frame_ends(nframes)
    double precision, intent(inout) :: frames(3, n, nframes)
    double precision :: y(3, n, 2), yh(3, n, 2), k1(3, n, 2), k2(3, n, 2), h
    integer :: k, s, start

    y = initial
    start = 1
    do k = 1, nframes
        do s = start, frame_ends(k)
            h = steps(s)
            call derivatives(n, y, mass, k1)
            yh = y + k1 * (0.5d0 * h)
            call derivatives(n, yh, mass, k2)
            y = y + k2 * h
        end do
        start = frame_ends(k) + 1
        frames(:, :, k) = y(:, :, 1)
    end do
end subroutine integrate


function kernel(context, n, pos, vel, mass, rate) bind(C, name="nbody_fortran_kernel") &
        result(status)
    ! The derivative as a C function, for the checked call (kernels._boundary.Kernel),
    ! positions and velocities given apart: f2py does not wrap it;
    ! kernels/fortran/__init__.py finds it by name. Returns 0.
    use iso_c_binding, only: c_double, c_int, c_ptr, c_ptrdiff_t
    implicit none
    type(c_ptr), value, intent(in) :: context
    integer(c_ptrdiff_t), value, intent(in) :: n
    real(c_double), intent(in) :: pos(3, n), vel(3, n), mass(n)
    real(c_double), intent(inout) :: rate(3, n, 2)
    integer(c_int) :: status

    rate(:, :, 1) = vel
    call pair_accelerations(int(n), pos, mass, rate(:, :, 2))
    status = 0
end function kernel
